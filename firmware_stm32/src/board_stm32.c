/*
 * Board layer of the HIL firmware on real STM32 Nucleo boards (PlatformIO, framework stm32cube):
 *   nucleo_l4r5zi  STM32L4R5ZI  120 MHz  LPUART1 PG7/PG8 (AF8)  = ST-LINK VCP
 *   nucleo_f446re  STM32F446RE  180 MHz  USART2  PA2/PA3 (AF7)  = ST-LINK VCP
 *   qemu_netduinoplus2  STM32F405RG 168 MHz  USART2 = QEMU's second -serial (real HAL under QEMU)
 *   nucleo_h743zi  STM32H743ZI  400 MHz  USART3  PD8/PD9 (AF7)  = ST-LINK VCP
 * 115200 8N1, receive by interrupt into a ring buffer. Counter: DWT->CYCCNT around invoke (real
 * CPU cycles). Model, input, arena and capture buffers are static arrays sized per board by
 * build flags (platformio.ini). The QEMU builds use board_mps2.c instead.
 *
 * Built with PlatformIO (platformio.ini) or, offline, by `nox -s boards -- --vendor DIR` (emc/boards.py:
 * the same envs against the STM32Cube HAL given in DIR, with this project's include/stm32*_hal_conf.h).
 * -DHIL_NO_MAIN leaves main() to the program (examples/example_main.c).
 */
#include <stdint.h>
#include <string.h>

#include "hil_board.h"
#include "hil_protocol.h"

#if defined(STM32F4xx) || defined(STM32F446xx) || defined(STM32F405xx)
#include "stm32f4xx_hal.h"
#define HIL_F4 1
#elif defined(STM32L4xx) || defined(STM32L4R5xx)
#include "stm32l4xx_hal.h"
#define HIL_L4 1
#elif defined(STM32H7xx) || defined(STM32H743xx)
#include "stm32h7xx_hal.h"
#define HIL_H7 1
#else
#error "board_stm32.c: unsupported STM32 family (F4, L4+, H7)"
#endif

#ifndef HIL_TARGET
#define HIL_TARGET "stm32"
#endif
#ifndef HIL_BAUD
#define HIL_BAUD 115200u
#endif
#include "board_stm32_buffers.h"

static UART_HandleTypeDef huart;
static volatile uint32_t ring_head, ring_tail;
static uint32_t cyc_last;
static uint64_t cyc_high;

/* ---------------------------------------------------------------------------------------------- */
/* clocks */

static void clock_config(void)
{
    RCC_OscInitTypeDef osc;
    RCC_ClkInitTypeDef clk;
    memset(&osc, 0, sizeof osc);
    memset(&clk, 0, sizeof clk);
#if HIL_F4
    /* F446: HSI 16 MHz -> PLL 180 MHz (over-drive), APB1 45 MHz, APB2 90 MHz.
     * F405 (no over-drive, no PLLR; QEMU netduinoplus2): PLL 168 MHz, APB1 42 MHz, APB2 84 MHz. */
    __HAL_RCC_PWR_CLK_ENABLE();
    __HAL_PWR_VOLTAGESCALING_CONFIG(PWR_REGULATOR_VOLTAGE_SCALE1);
    osc.OscillatorType = RCC_OSCILLATORTYPE_HSI;
    osc.HSIState = RCC_HSI_ON;
    osc.HSICalibrationValue = RCC_HSICALIBRATION_DEFAULT;
    osc.PLL.PLLState = RCC_PLL_ON;
    osc.PLL.PLLSource = RCC_PLLSOURCE_HSI;
    osc.PLL.PLLM = 16;
    osc.PLL.PLLP = RCC_PLLP_DIV2;
#if defined(PWR_CR_ODEN)
    osc.PLL.PLLN = 360;
    osc.PLL.PLLQ = 2;
#else
    osc.PLL.PLLN = 336;
    osc.PLL.PLLQ = 7; /* 48 MHz domain */
#endif
#if defined(RCC_PLLCFGR_PLLR)
    osc.PLL.PLLR = 2;
#endif
    HAL_RCC_OscConfig(&osc);
#if defined(PWR_CR_ODEN)
    HAL_PWREx_EnableOverDrive();
#endif
    clk.ClockType = RCC_CLOCKTYPE_HCLK | RCC_CLOCKTYPE_SYSCLK | RCC_CLOCKTYPE_PCLK1 | RCC_CLOCKTYPE_PCLK2;
    clk.SYSCLKSource = RCC_SYSCLKSOURCE_PLLCLK;
    clk.AHBCLKDivider = RCC_SYSCLK_DIV1;
    clk.APB1CLKDivider = RCC_HCLK_DIV4;
    clk.APB2CLKDivider = RCC_HCLK_DIV2;
    HAL_RCC_ClockConfig(&clk, FLASH_LATENCY_5);
#elif HIL_L4
    /* HSI 16 MHz -> PLL 120 MHz (range 1 boost) */
    __HAL_RCC_PWR_CLK_ENABLE();
    HAL_PWREx_ControlVoltageScaling(PWR_REGULATOR_VOLTAGE_SCALE1_BOOST);
    osc.OscillatorType = RCC_OSCILLATORTYPE_HSI;
    osc.HSIState = RCC_HSI_ON;
    osc.HSICalibrationValue = RCC_HSICALIBRATION_DEFAULT;
    osc.PLL.PLLState = RCC_PLL_ON;
    osc.PLL.PLLSource = RCC_PLLSOURCE_HSI;
    osc.PLL.PLLM = 1;
    osc.PLL.PLLN = 15;
#ifdef RCC_PLLP_DIV2
    osc.PLL.PLLP = RCC_PLLP_DIV2;
#else
    osc.PLL.PLLP = RCC_PLLP_DIV7;
#endif
    osc.PLL.PLLQ = RCC_PLLQ_DIV4;
    osc.PLL.PLLR = RCC_PLLR_DIV2;
    HAL_RCC_OscConfig(&osc);
    clk.ClockType = RCC_CLOCKTYPE_HCLK | RCC_CLOCKTYPE_SYSCLK | RCC_CLOCKTYPE_PCLK1 | RCC_CLOCKTYPE_PCLK2;
    clk.SYSCLKSource = RCC_SYSCLKSOURCE_PLLCLK;
    clk.AHBCLKDivider = RCC_SYSCLK_DIV1;
    clk.APB1CLKDivider = RCC_HCLK_DIV1;
    clk.APB2CLKDivider = RCC_HCLK_DIV1;
    HAL_RCC_ClockConfig(&clk, FLASH_LATENCY_5);
#elif HIL_H7
    /* LDO supply, VOS1, HSI 64 MHz -> PLL1 400 MHz; AXI/AHB 200 MHz, APBx 100 MHz */
    HAL_PWREx_ConfigSupply(PWR_LDO_SUPPLY);
    __HAL_PWR_VOLTAGESCALING_CONFIG(PWR_REGULATOR_VOLTAGE_SCALE1);
    while (!__HAL_PWR_GET_FLAG(PWR_FLAG_VOSRDY))
        ;
    osc.OscillatorType = RCC_OSCILLATORTYPE_HSI;
    osc.HSIState = RCC_HSI_DIV1;
    osc.HSICalibrationValue = RCC_HSICALIBRATION_DEFAULT;
    osc.PLL.PLLState = RCC_PLL_ON;
    osc.PLL.PLLSource = RCC_PLLSOURCE_HSI;
    osc.PLL.PLLM = 4;
    osc.PLL.PLLN = 50;
    osc.PLL.PLLP = 2;
    osc.PLL.PLLQ = 4;
    osc.PLL.PLLR = 2;
    osc.PLL.PLLRGE = RCC_PLL1VCIRANGE_3;
    osc.PLL.PLLVCOSEL = RCC_PLL1VCOWIDE;
    HAL_RCC_OscConfig(&osc);
    clk.ClockType = RCC_CLOCKTYPE_HCLK | RCC_CLOCKTYPE_SYSCLK | RCC_CLOCKTYPE_PCLK1 | RCC_CLOCKTYPE_PCLK2 |
                    RCC_CLOCKTYPE_D3PCLK1 | RCC_CLOCKTYPE_D1PCLK1;
    clk.SYSCLKSource = RCC_SYSCLKSOURCE_PLLCLK;
    clk.SYSCLKDivider = RCC_SYSCLK_DIV1;
    clk.AHBCLKDivider = RCC_HCLK_DIV2;
    clk.APB3CLKDivider = RCC_APB3_DIV2;
    clk.APB1CLKDivider = RCC_APB1_DIV2;
    clk.APB2CLKDivider = RCC_APB2_DIV2;
    clk.APB4CLKDivider = RCC_APB4_DIV2;
    HAL_RCC_ClockConfig(&clk, FLASH_LATENCY_2);
    SCB_EnableICache();
    SCB_EnableDCache(); /* no DMA anywhere in this firmware: caches are safe */
#endif
}

/* ---------------------------------------------------------------------------------------------- */
/* UART (ST-LINK virtual COM port) */

#if HIL_F4
#define VCP USART2
#define VCP_IRQn USART2_IRQn
#define VCP_IRQHandler USART2_IRQHandler
#define RX_READY() (VCP->SR & USART_SR_RXNE)
#define RX_ERR() (VCP->SR & (USART_SR_ORE | USART_SR_FE | USART_SR_NE))
#define RX_DATA() ((uint8_t)VCP->DR)
#define TX_READY() (VCP->SR & USART_SR_TXE)
#define TX_PUT(b) (VCP->DR = (b))
#define TX_DONE() (VCP->SR & USART_SR_TC)
#define RX_CLEAR_ERR() ((void)VCP->SR, (void)VCP->DR)
#else
#if HIL_L4
#define VCP LPUART1
#define VCP_IRQn LPUART1_IRQn
#define VCP_IRQHandler LPUART1_IRQHandler
#else
#define VCP USART3
#define VCP_IRQn USART3_IRQn
#define VCP_IRQHandler USART3_IRQHandler
#endif
#ifndef USART_ISR_RXNE_RXFNE
#define USART_ISR_RXNE_RXFNE USART_ISR_RXNE
#define USART_ISR_TXE_TXFNF USART_ISR_TXE
#endif
#define RX_READY() (VCP->ISR & USART_ISR_RXNE_RXFNE)
#define RX_ERR() (VCP->ISR & (USART_ISR_ORE | USART_ISR_FE | USART_ISR_NE))
#define RX_DATA() ((uint8_t)VCP->RDR)
#define TX_READY() (VCP->ISR & USART_ISR_TXE_TXFNF)
#define TX_PUT(b) (VCP->TDR = (b))
#define TX_DONE() (VCP->ISR & USART_ISR_TC)
#define RX_CLEAR_ERR() (VCP->ICR = USART_ICR_ORECF | USART_ICR_FECF | USART_ICR_NECF)
#endif

void VCP_IRQHandler(void)
{
    if (RX_ERR())
        RX_CLEAR_ERR();
    while (RX_READY()) {
        uint8_t b = RX_DATA();
        uint32_t h = ring_head;
        if (h - ring_tail < sizeof ring) {
            ring[h % sizeof ring] = b;
            ring_head = h + 1;
        }
    }
}

static void uart_init(void)
{
    GPIO_InitTypeDef g;
    memset(&g, 0, sizeof g);
    g.Mode = GPIO_MODE_AF_PP;
    g.Pull = GPIO_PULLUP;
    g.Speed = GPIO_SPEED_FREQ_VERY_HIGH;
#if HIL_F4
    __HAL_RCC_GPIOA_CLK_ENABLE();
    __HAL_RCC_USART2_CLK_ENABLE();
    g.Pin = GPIO_PIN_2 | GPIO_PIN_3;
    g.Alternate = GPIO_AF7_USART2;
    HAL_GPIO_Init(GPIOA, &g);
#elif HIL_L4
    __HAL_RCC_GPIOG_CLK_ENABLE();
    HAL_PWREx_EnableVddIO2(); /* port G pins 2..15 are on VDDIO2 */
    __HAL_RCC_LPUART1_CLK_ENABLE();
    g.Pin = GPIO_PIN_7 | GPIO_PIN_8;
    g.Alternate = GPIO_AF8_LPUART1;
    HAL_GPIO_Init(GPIOG, &g);
#else
    __HAL_RCC_GPIOD_CLK_ENABLE();
    __HAL_RCC_USART3_CLK_ENABLE();
    g.Pin = GPIO_PIN_8 | GPIO_PIN_9;
    g.Alternate = GPIO_AF7_USART3;
    HAL_GPIO_Init(GPIOD, &g);
#endif
    memset(&huart, 0, sizeof huart);
    huart.Instance = VCP;
    huart.Init.BaudRate = HIL_BAUD;
    huart.Init.WordLength = UART_WORDLENGTH_8B;
    huart.Init.StopBits = UART_STOPBITS_1;
    huart.Init.Parity = UART_PARITY_NONE;
    huart.Init.Mode = UART_MODE_TX_RX;
    huart.Init.HwFlowCtl = UART_HWCONTROL_NONE;
    huart.Init.OverSampling = UART_OVERSAMPLING_16;
    HAL_UART_Init(&huart);
    __HAL_UART_ENABLE_IT(&huart, UART_IT_RXNE);
    HAL_NVIC_SetPriority(VCP_IRQn, 0, 0);
    HAL_NVIC_EnableIRQ(VCP_IRQn);
}

int board_getc(void)
{
    uint32_t t = ring_tail;
    int c;
    if (t == ring_head)
        return -1;
    c = ring[t % sizeof ring];
    ring_tail = t + 1;
    return c;
}

void board_write(const uint8_t *p, size_t n)
{
    while (n--) {
        while (!TX_READY())
            ;
        TX_PUT(*p++);
    }
    while (!TX_DONE())
        ;
}

void board_idle(void)
{
    __disable_irq();
    if (ring_tail == ring_head)
        __WFI(); /* SysTick (1 ms HAL tick) or the UART wakes it */
    __enable_irq();
}

uint32_t board_millis(void)
{
    return HAL_GetTick();
}

uint64_t board_counter(void)
{
    /* DWT->CYCCNT is 32 bits (~10 s at 400 MHz): extend it; called at least once per invoke. */
    uint32_t now = DWT->CYCCNT;
    if (now < cyc_last)
        cyc_high += 1ull << 32;
    cyc_last = now;
    return cyc_high | now;
}

void board_counter_restart(void)
{
    DWT->CYCCNT = 0;
    cyc_last = 0;
    cyc_high = 0;
}

void board_reset(void)
{
    NVIC_SystemReset();
}

void board_init(hil_board_info_t *b)
{
    HAL_Init();
    clock_config();
    SystemCoreClockUpdate();
    uart_init();
    CoreDebug->DEMCR |= CoreDebug_DEMCR_TRCENA_Msk;
#if HIL_H7 || defined(DWT_LAR_UNLOCK)
    DWT->LAR = 0xC5ACCE55; /* Cortex-M7: unlock the DWT */
#endif
    DWT->CYCCNT = 0;
    DWT->CTRL |= DWT_CTRL_CYCCNTENA_Msk;

    b->target = HIL_TARGET;
    b->core_clock_hz = SystemCoreClock;
    b->counter_kind = HIL_CNT_CYCLES;
    b->build_flags = HIL_BF_FPU;
    b->model_buf = model_buf;
    b->model_max = sizeof model_buf;
    b->input_buf = input_buf;
    b->input_max = sizeof input_buf;
    b->arena = arena;
    b->arena_size = sizeof arena;
    b->capture_buf = capture_buf;
    b->capture_max = sizeof capture_buf;
}

void SysTick_Handler(void)
{
    HAL_IncTick();
}

/* HIL_NO_MAIN: the board layer alone, for programs with their own main (examples/) */
#ifndef HIL_NO_MAIN
int main(void)
{
    hil_main();
    return 0;
}
#endif
