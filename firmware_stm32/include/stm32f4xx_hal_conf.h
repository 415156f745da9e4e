/* STM32Cube F4 HAL configuration of the HIL firmware (NUCLEO-F446RE; QEMU netduinoplus2 = STM32F405).
 * Module choice and shared values: emc_hal_conf_common.h. */
#ifndef STM32F4xx_HAL_CONF_H
#define STM32F4xx_HAL_CONF_H

#if !defined(HSI_VALUE)
#define HSI_VALUE 16000000U
#endif
#include "emc_hal_conf_common.h"

#include "stm32f4xx_hal_rcc.h"
#include "stm32f4xx_hal_gpio.h"
#include "stm32f4xx_hal_dma.h"
#include "stm32f4xx_hal_cortex.h"
#include "stm32f4xx_hal_flash.h"
#include "stm32f4xx_hal_pwr.h"
#include "stm32f4xx_hal_uart.h"

#endif
