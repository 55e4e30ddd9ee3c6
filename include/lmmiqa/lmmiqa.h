/*
 * lmmiqa/lmmiqa.h - everything a user of quality scoring needs, in one include.
 *
 * lmmiqa predicts perceived image quality (a mean opinion score) without a
 * reference image, from foundation-model image embeddings concatenated with
 * distortion features and regressed by a small MLP. Each header below is the
 * manual of one area; start with core.h (status codes and errors), then
 * scorer.h (score an image like `lmmiqa score`).
 *
 * Tiers:
 *   lmmiqa/<area>.h           the stable API, all included here but plot.h:
 *                             images, distortions, extractors, BRISQUE and
 *                             its SVR, regressors, the scorer, metrics,
 *                             datasets, splits, the feature store, the
 *                             protocol.
 *   lmmiqa/plot.h             the paper's figures (scatter and trend charts),
 *                             stable too, but in its own library,
 *                             liblmmiqa-plot, which draws with cairo: NOT
 *                             included here, so a program that includes
 *                             lmmiqa.h links liblmmiqa alone and never cairo.
 *                             Include it explicitly and link lmmiqa-plot.
 *   lmmiqa/advanced/<x>.h     exported but may change between minor
 *                             versions: direct access to the encoders
 *                             (vit.h, align.h), CNNIQA/MetaIQA training
 *                             (cnniqa.h, metaiqa.h), the CSV and .npy readers,
 *                             the atomic file writer (file.h). Include them
 *                             one by one where needed.
 * The training engine, tensor-file readers (safetensors, torch zip) and
 * MATLAB imresize are internal and not exported.
 *
 * Linking: `pkg-config --cflags --libs lmmiqa`, or CMake's
 * `find_package(lmmiqa)` and the target lmmiqa::lmmiqa. For plot.h:
 * `pkg-config --cflags --libs lmmiqa-plot`, or
 * `find_package(lmmiqa COMPONENTS plot)` and lmmiqa::lmmiqa-plot (both
 * bring liblmmiqa too).
 */
#ifndef LMMIQA_H
#define LMMIQA_H

#include "lmmiqa/core.h"
#include "lmmiqa/rng.h"
#include "lmmiqa/image.h"
#include "lmmiqa/distort.h"
#include "lmmiqa/extractor.h"
#include "lmmiqa/brisque.h"
#include "lmmiqa/svr.h"
#include "lmmiqa/regressor.h"
#include "lmmiqa/scorer.h"
#include "lmmiqa/metrics.h"
#include "lmmiqa/dataset.h"
#include "lmmiqa/splits.h"
#include "lmmiqa/store.h"
#include "lmmiqa/protocol.h"

#endif
