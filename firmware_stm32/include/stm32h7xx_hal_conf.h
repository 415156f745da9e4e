/* STM32Cube H7 HAL configuration of the HIL firmware (NUCLEO-H743ZI).
 * Module choice and shared values: emc_hal_conf_common.h. */
#ifndef STM32H7xx_HAL_CONF_H
#define STM32H7xx_HAL_CONF_H

#if !defined(HSI_VALUE)
#define HSI_VALUE 64000000U
#endif
#if !defined(CSI_VALUE)
#define CSI_VALUE 4000000U
#endif
#include "emc_hal_conf_common.h"

#include "stm32h7xx_hal_rcc.h"
#include "stm32h7xx_hal_gpio.h"
#include "stm32h7xx_hal_dma.h"
#include "stm32h7xx_hal_cortex.h"
#include "stm32h7xx_hal_flash.h"
#include "stm32h7xx_hal_pwr.h"
#include "stm32h7xx_hal_uart.h"

#endif
