/*
 * EMC HIL serial protocol: wire constants shared by every firmware (see docs/hil_protocol.md).
 * emc/hil/protocol.py carries the same numbers; tests/firmware check that both agree.
 *
 * Frame (all integers little-endian):
 *   off 0  u8  0xA5        sync 0
 *   off 1  u8  0x5A        sync 1
 *   off 2  u8  cmd         request command, or reply (cmd | 0x80), or HIL_ERROR
 *   off 3  u8  seq         chosen by the host, echoed by the device
 *   off 4  u16 len         payload length (<= max_payload advertised by HELLO)
 *   off 6  len bytes       payload
 *   off 6+len u32 crc      CRC-32 (IEEE 802.3, as zlib.crc32) over bytes 2 .. 6+len-1
 */
#ifndef HIL_PROTOCOL_H
#define HIL_PROTOCOL_H

#define HIL_PROTO_MAJOR 1
#define HIL_PROTO_MINOR 0

#define HIL_SYNC0 0xA5
#define HIL_SYNC1 0x5A
#define HIL_HEADER_SIZE 6
#define HIL_CRC_SIZE 4
#define HIL_OVERHEAD (HIL_HEADER_SIZE + HIL_CRC_SIZE)

/* Requests (host -> device). The reply carries cmd | HIL_REPLY. */
#define HIL_PING        0x01 /* payload echoed back verbatim */
#define HIL_HELLO       0x02 /* -> device description */
#define HIL_RESET       0x03 /* u8 mode: 0 = forget model/input/capture, 1 = reset the CPU */
#define HIL_LOAD_BEGIN  0x10 /* u32 total_size */
#define HIL_LOAD_CHUNK  0x11 /* u32 offset, data */
#define HIL_LOAD_COMMIT 0x12 /* u32 size, u32 crc32 of the model bytes -> load result */
#define HIL_SET_INPUT   0x20 /* u32 offset, data (into the input staging buffer) */
#define HIL_INVOKE      0x30 /* u32 input_size, u32 flags, i32 capture_layer -> invoke result */
#define HIL_GET_OUTPUT  0x31 /* u32 index, u32 offset, u32 max_len -> u32 total, u32 offset, data */
#define HIL_GET_LAYER   0x32 /* u32 offset, u32 max_len -> capture header + data */
#define HIL_GET_TRACE   0x33 /* u32 first, u32 count -> u32 n_layers, records */

#define HIL_REPLY 0x80
/* Printed outside any frame at every start of hil_main (power-on, RESET 1, watchdog, crash and
 * reboot), and by board_fault: a host that sees either while a command is outstanding knows the
 * device reset and forgot its model, at once instead of after the command's timeout. */
#define HIL_BOOT_BANNER "\r\nHIL BOOT\r\n"
#define HIL_ERROR 0x7F       /* u16 code, u8 cmd, u8 reserved, i32 detail, text message */

/* INVOKE flags */
#define HIL_INV_CAPTURE   0x01u /* copy the output of layer capture_layer into the capture buffer */
#define HIL_INV_TRACE_CRC 0x02u /* record a CRC-32 of every layer's output (GET_TRACE) */

/* Error codes */
#define HIL_E_BAD_CRC     1  /* frame CRC mismatch */
#define HIL_E_UNKNOWN_CMD 2  /* command not implemented */
#define HIL_E_BAD_LENGTH  3  /* payload length wrong for the command */
#define HIL_E_TOO_LARGE   4  /* frame, model, input or capture larger than the device allows */
#define HIL_E_TIMEOUT     5  /* partial frame: no byte for HIL_RX_TIMEOUT_MS, or not complete in HIL_FRAME_TIMEOUT_MS */
#define HIL_E_NO_MODEL    6  /* INVOKE/GET_* without a loaded model / result */
#define HIL_E_RUNTIME     7  /* the runtime refused: detail = emc_status_t, message = emc_status_str */
#define HIL_E_CHECKSUM    8  /* LOAD_COMMIT CRC differs from the bytes in the model buffer */
#define HIL_E_RANGE       9  /* offset/index outside the buffer/tensor */
#define HIL_E_STATE       10 /* command not valid now (e.g. GET_LAYER without a capture) */

/* HELLO build flags */
#define HIL_BF_DSP      0x0001u /* DSP/SIMD kernels compiled in */
#define HIL_BF_FPU      0x0002u /* hardware floating point */
#define HIL_BF_EMULATED 0x0004u /* running under an emulator (QEMU) */
#define HIL_BF_SW_KPU   0x0008u /* K210 KPU layers run by the software KPU model */
#define HIL_BF_HW_KPU   0x0010u /* K210 KPU layers on the hardware KPU */
#define HIL_BF_STUB     0x0020u /* stub runtime (protocol testing only, outputs are not real) */
#define HIL_BF_DEBUG    0x0040u /* built without optimisation */

/* Kinds of the counter reported by INVOKE and the trace */
#define HIL_CNT_NONE    0 /* no counter */
#define HIL_CNT_CYCLES  1 /* CPU clock cycles (DWT->CYCCNT, rdcycle) */
#define HIL_CNT_INSNS   2 /* retired instructions (minstret; exact under QEMU -icount) */
#define HIL_CNT_VNS     3 /* virtual nanoseconds from a timer: == instructions under QEMU -icount shift=0 */
#define HIL_CNT_NS      4 /* host nanoseconds (host build) */

#define HIL_RX_TIMEOUT_MS 1000u    /* partial frame: longest silence between two bytes */
#define HIL_FRAME_TIMEOUT_MS 2500u /* partial frame: longest time from sync to CRC (a maximal frame
                                      takes 0.4 s at 115200 baud or under QEMU) */

#endif
