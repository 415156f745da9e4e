/*
 * Host (Linux) board for the HIL firmware: the same protocol code served on a pseudo-terminal,
 * so the host side and the protocol can be tested quickly through real pyserial traffic without an
 * emulator. Prints "HIL pty /dev/pts/N" on stdout, then serves until killed.
 * Build: make -C firmware_common host   (see firmware_common/Makefile)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "hil_board.h"
#include "hil_protocol.h"

#define MODEL_MAX (16u << 20)
#define INPUT_MAX (4u << 20)
#define ARENA_SIZE (32u << 20)
#define CAPTURE_MAX (4u << 20)

static int master = -1;
static jmp_buf restart;
static uint8_t rbuf[4096];
static size_t rlen, rpos;

void board_init(hil_board_info_t *b)
{
    static uint8_t *model, *input, *arena, *capture;
    if (!model) {
        model = aligned_alloc(128, MODEL_MAX);
        input = aligned_alloc(128, INPUT_MAX);
        arena = aligned_alloc(128, ARENA_SIZE);
        capture = aligned_alloc(128, CAPTURE_MAX);
        if (!model || !input || !arena || !capture) {
            perror("alloc");
            exit(2);
        }
    }
    b->target = "host";
    b->core_clock_hz = 0;
    b->counter_kind = HIL_CNT_NS;
    b->build_flags = HIL_BF_FPU;
    b->model_buf = model;
    b->model_max = MODEL_MAX;
    b->input_buf = input;
    b->input_max = INPUT_MAX;
    b->arena = arena;
    b->arena_size = ARENA_SIZE;
    b->capture_buf = capture;
    b->capture_max = CAPTURE_MAX;
}

int board_getc(void)
{
    if (rpos == rlen) {
        ssize_t n = read(master, rbuf, sizeof rbuf);
        if (n <= 0)
            return -1;
        rlen = (size_t)n;
        rpos = 0;
    }
    return rbuf[rpos++];
}

void board_write(const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write(master, p, n);
        if (k < 0) {
            struct pollfd pf = {master, POLLOUT, 0};
            poll(&pf, 1, 100);
            continue;
        }
        p += k;
        n -= (size_t)k;
    }
}

void board_idle(void)
{
    struct pollfd pf = {master, POLLIN, 0};
    poll(&pf, 1, 50);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint32_t board_millis(void) { return (uint32_t)(now_ns() / 1000000u); }
uint64_t board_counter(void) { return now_ns(); }
void board_counter_restart(void) {}
void board_reset(void) { longjmp(restart, 1); }

int main(void)
{
    struct termios t;
    int slave;
    master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) || unlockpt(master)) {
        perror("pty");
        return 2;
    }
    /* keep a raw slave open: no echo/line editing before the host opens it, no EIO on read */
    slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    if (slave >= 0 && tcgetattr(slave, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(slave, TCSANOW, &t);
    }
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    printf("HIL pty %s\n", ptsname(master));
    fflush(stdout);
    setjmp(restart);
    rlen = rpos = 0;
    hil_main();
    return 0;
}
