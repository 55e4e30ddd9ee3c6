/*
 * lmmiqa/lmmiqa.h - the whole public API of lmmiqa in one include.
 *
 * lmmiqa predicts perceived image quality (a mean opinion score) without a
 * reference image, from foundation-model image embeddings concatenated with
 * distortion features and regressed by a small MLP. Each header below is the
 * manual of one area; start with core.h (status codes and errors).
 */
#ifndef LMMIQA_H
#define LMMIQA_H

#include "lmmiqa/core.h"
#include "lmmiqa/rng.h"
#include "lmmiqa/safetensors.h"
#include "lmmiqa/torchzip.h"
#include "lmmiqa/vit.h"
#include "lmmiqa/image.h"
#include "lmmiqa/distort.h"
#include "lmmiqa/resize.h"
#include "lmmiqa/brisque.h"
#include "lmmiqa/dataset.h"
#include "lmmiqa/splits.h"
#include "lmmiqa/regressor.h"

#include "lmmiqa/metrics.h"
#include "lmmiqa/svr.h"
#include "lmmiqa/align.h"
#include "lmmiqa/plot.h"
#include "lmmiqa/nn.h"
#include "lmmiqa/cnniqa.h"
#include "lmmiqa/metaiqa.h"
#include "lmmiqa/store.h"
#include "lmmiqa/protocol.h"

#endif
