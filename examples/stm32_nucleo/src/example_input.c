/* Fixed input of the STM32 example: one Iris virginica flower (sepal 6.3 x 3.3 cm, petal 6.0 x 2.5 cm)
 * for nncase's iris model (emc/data/nncase_v0.1_iris_v3.kmodel: 4 float features in, 3 class scores
 * out: setosa, versicolor, virginica). */
#include "model_data.h"

static const float features[4] = {6.3f, 3.3f, 6.0f, 2.5f};
_Static_assert(sizeof features == EMC_MODEL_INPUT_BYTES, "model_data.h: not the iris model");

const void *const example_input = features;
