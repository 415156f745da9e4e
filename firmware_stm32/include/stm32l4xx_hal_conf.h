/* STM32Cube L4 HAL configuration of the HIL firmware (NUCLEO-L4R5ZI).
 * Module choice and shared values: emc_hal_conf_common.h. */
#ifndef STM32L4xx_HAL_CONF_H
#define STM32L4xx_HAL_CONF_H

#if !defined(HSI_VALUE)
#define HSI_VALUE 16000000U
#endif
#if !defined(MSI_VALUE)
#define MSI_VALUE 4000000U /* reset clock, until clock_config() switches to the PLL */
#endif
#if !defined(HSI48_VALUE)
#define HSI48_VALUE 48000000U
#endif
#if !defined(EXTERNAL_SAI1_CLOCK_VALUE)
#define EXTERNAL_SAI1_CLOCK_VALUE 48000U
#endif
#if !defined(EXTERNAL_SAI2_CLOCK_VALUE)
#define EXTERNAL_SAI2_CLOCK_VALUE 48000U
#endif
#include "emc_hal_conf_common.h"

#include "stm32l4xx_hal_rcc.h"
#include "stm32l4xx_hal_gpio.h"
#include "stm32l4xx_hal_dma.h"
#include "stm32l4xx_hal_cortex.h"
#include "stm32l4xx_hal_flash.h"
#include "stm32l4xx_hal_pwr.h"
#include "stm32l4xx_hal_uart.h"

#endif
