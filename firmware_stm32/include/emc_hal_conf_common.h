/*
 * Settings shared by the HIL firmware's STM32Cube HAL configurations (stm32{f4,l4,h7}xx_hal_conf.h,
 * written for this project; the HAL reads them through its <family>_hal.h). Only the modules the
 * board layer (src/board_stm32.c) uses are enabled: RCC + PWR for the clock tree, FLASH for the
 * wait states, GPIO + UART (+ DMA, which the UART driver references) for the ST-LINK VCP, CORTEX
 * for NVIC/SysTick. The firmware runs from the internal HSI oscillator, so the HSE value is only
 * what the Nucleo's ST-LINK would provide on MCO (8 MHz) and is never selected.
 */
#ifndef EMC_HAL_CONF_COMMON_H
#define EMC_HAL_CONF_COMMON_H

#define HAL_MODULE_ENABLED
#define HAL_CORTEX_MODULE_ENABLED
#define HAL_DMA_MODULE_ENABLED
#define HAL_FLASH_MODULE_ENABLED
#define HAL_GPIO_MODULE_ENABLED
#define HAL_PWR_MODULE_ENABLED
#define HAL_RCC_MODULE_ENABLED
#define HAL_UART_MODULE_ENABLED

#if !defined(HSE_VALUE)
#define HSE_VALUE 8000000U
#endif
#if !defined(HSE_STARTUP_TIMEOUT)
#define HSE_STARTUP_TIMEOUT 100U
#endif
#if !defined(LSI_VALUE)
#define LSI_VALUE 32000U
#endif
#if !defined(LSE_VALUE)
#define LSE_VALUE 32768U
#endif
#if !defined(LSE_STARTUP_TIMEOUT)
#define LSE_STARTUP_TIMEOUT 5000U
#endif
#if !defined(EXTERNAL_CLOCK_VALUE)
#define EXTERNAL_CLOCK_VALUE 12288000U
#endif

#define VDD_VALUE 3300U
#define TICK_INT_PRIORITY 0x0FU /* SysTick: lowest priority, below the VCP receive interrupt */
#define USE_RTOS 0U
#define PREFETCH_ENABLE 1U
#define INSTRUCTION_CACHE_ENABLE 1U
#define DATA_CACHE_ENABLE 1U
#define USE_SPI_CRC 0U
#define USE_HAL_UART_REGISTER_CALLBACKS 0U

/* No parameter checks in the HAL: the board layer passes constants only. */
#define assert_param(expr) ((void)0U)

#endif
