/*
 * lmmiqa/metaiqa.h - MetaIQA (Zhu et al., CVPR 2020): a torchvision
 * ResNet-18 (with its 1000-way fc) followed by the head
 * FC 1000->1024, BN, PReLU, dropout, FC 1024->512, BN, PReLU, dropout,
 * FC 512->1, sigmoid; trained (fine-tuned) in C on the nn engine.
 *
 * Tensor names follow MetaIQA's released model ("resnet_layer.*" for the
 * backbone, "net.*" for the head; shared/reference/checkpoints/
 * metaiqa_net_resnet18.tsv), so a converted release loads directly; a
 * torchvision ResNet-18 state dict ("conv1.weight", ...) loads into the
 * backbone. Both must be safetensors (docs/metaiqa.md has the one-line
 * conversion from the pickled files).
 *
 * Preprocessing as MetaIQA: training resizes to 256x256 and takes a random
 * 224x224 crop with a random horizontal flip; testing resizes to 224x224;
 * resizing is bilinear with PIL's antialiasing (torchvision's Resize on PIL
 * images); ImageNet mean/std normalisation.
 *
 * Feature: the 512-d activation before the last FC (after PReLU; dropout
 * is off at test time). Score: the sigmoid output, on the 0..1 scale the
 * MOS was normalised to.
 */
#ifndef LMMIQA_METAIQA_H
#define LMMIQA_METAIQA_H

#include "lmmiqa/core.h"
#include "lmmiqa/image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lmmiqa_metaiqa_config {
    /* architecture (stored in the weight file) */
    int width;        /* ResNet base width: 64 = ResNet-18; smaller only for tests */
    int classes;      /* the backbone fc's outputs, 1000 */
    int hidden1;      /* 1024 */
    int hidden2;      /* 512 = feature width */
    float dropout;    /* 0.5 */
    int train_size;   /* resize side before the random crop, 256 */
    int crop;         /* crop side for training, resize side for testing, 224 */
    /* training */
    int epochs;          /* 10 */
    int batch;           /* images per step, 8 */
    double lr;           /* Adam, 1e-4 (MetaIQA's fine-tuning) */
    double weight_decay; /* 0 */
    int lr_step;         /* StepLR: lr x0.1 every lr_step epochs (MetaIQA: 10), 0 = off */
    uint64_t seed;
    int threads;         /* OpenBLAS threads, 0 = leave as is */
    int verbose;
    void (*log)(void *user, const char *line);
    void *log_user;
} lmmiqa_metaiqa_config;

/* Fill with the defaults above. */
LMMIQA_API void lmmiqa_metaiqa_config_init(lmmiqa_metaiqa_config *cfg);

typedef struct lmmiqa_metaiqa lmmiqa_metaiqa;

/* Random initialisation as torchvision (conv: Kaiming normal, fan_out; BN
 * 1/0; linear: torch default; PReLU 0.25) from cfg->seed. */
LMMIQA_API int lmmiqa_metaiqa_create(const lmmiqa_metaiqa_config *cfg, lmmiqa_metaiqa **out);
/* Initialise from a pretrained file: MetaIQA's release (all tensors, names
 * resnet_layer.* and net.*) or a torchvision ResNet-18 state dict (backbone
 * only; the head keeps its initialisation). Every name, shape and dtype is
 * checked. */
LMMIQA_API int lmmiqa_metaiqa_load_pretrained(lmmiqa_metaiqa *m, const char *path);
/* Load a weight file written by lmmiqa_metaiqa_save / _train. */
LMMIQA_API int lmmiqa_metaiqa_load(const char *path, lmmiqa_metaiqa **out);
LMMIQA_API int lmmiqa_metaiqa_save(const lmmiqa_metaiqa *m, const char *path);
LMMIQA_API void lmmiqa_metaiqa_destroy(lmmiqa_metaiqa *m);
LMMIQA_API const lmmiqa_metaiqa_config *lmmiqa_metaiqa_get_config(const lmmiqa_metaiqa *m);
/* Feature width (= hidden2). */
LMMIQA_API size_t lmmiqa_metaiqa_feature_dim(const lmmiqa_metaiqa *m);

/* Per-thread scratch for prediction. */
typedef struct lmmiqa_metaiqa_state lmmiqa_metaiqa_state;
LMMIQA_API int lmmiqa_metaiqa_state_create(const lmmiqa_metaiqa *m, lmmiqa_metaiqa_state **out);
LMMIQA_API void lmmiqa_metaiqa_state_destroy(lmmiqa_metaiqa_state *st);

/* Score (0..1, NULL to skip) and feature[hidden2] (NULL to skip) of an
 * image, resized to crop x crop. */
LMMIQA_API int lmmiqa_metaiqa_predict(const lmmiqa_metaiqa *m, lmmiqa_metaiqa_state *st,
                                      const lmmiqa_image *img, double *score, double *feature);

/* Fine-tune (or, with init_path NULL, train from random initialisation) on
 * n images with MSE against (mos - mos_min) / (mos_max - mos_min). With
 * checkpoint_path the state is saved after every epoch and training
 * resumes from it when it exists. Writes the weights to weights_out. */
LMMIQA_API int lmmiqa_metaiqa_train(const lmmiqa_metaiqa_config *cfg, const char *init_path,
                                    const char *const *image_paths, const double *mos, size_t n,
                                    double mos_min, double mos_max, const char *checkpoint_path,
                                    const char *weights_out);

#ifdef __cplusplus
}
#endif
#endif
