/*
 * tests/fuzz/make_seeds.c - writes the seed corpus of every fuzz target:
 * small valid files made with the library's own writers (as the unit tests
 * make theirs), one folder per target under OUT:
 *   image/  PNG and JPEG from lmmiqa_image_save_*, a BMP by hand
 *   csv/    generic, livec, KonIQ-10k, SPAQ-export and CID2013 manifests
 *   xlsx/   a SPAQ-shaped workbook (libzip; the layout tests/test_dataset.c builds)
 *   mat/    one .mat holding the three LIVE Challenge variables (libmatio)
 *   npy/    float32 matrices from lmmiqa_npy_encode_f32
 *   model/  linear, MLP and SVR regressor files from lmmiqa_regressor_save
 *   safetensors/  a CNNIQA weight file and a model file
 *   splits/ random and grouped splits from lmmiqa_splits_save_json
 *   serve/  Content-Type, Accept/flag and multipart bodies for fuzz_serve
 *   pickle/, torchzip/  tests/data/vit/micro_hps.pt and its data.pkl
 *   safetensors/ also tests/data/vit/st_reference.safetensors
 * Usage: make_seeds OUT SOURCE_DIR (built with -DLMMIQA_FUZZ=ON; run by
 * scripts/fuzz.sh).
 */
#include "core/internal.h"
#include "lmmiqa/advanced/npy.h"
#include "lmmiqa/advanced/cnniqa.h"
#include "lmmiqa/image.h"
#include "lmmiqa/regressor.h"
#include "lmmiqa/splits.h"

#include <matio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

static const char *out;
static int failures;

static const char *path_in(const char *kind, const char *name)
{
    static char p[4096];
    snprintf(p, sizeof p, "%s/%s", out, kind);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/%s/%s", out, kind, name);
    return p;
}

static void check(int rc, const char *what)
{
    if (rc != LMMIQA_OK) {
        fprintf(stderr, "make_seeds: %s: %s\n", what, lmmiqa_error_message());
        failures++;
    }
}

static void text(const char *kind, const char *name, const char *t)
{
    check(lmmiqa__file_write_atomic(path_in(kind, name), t, strlen(t)), name);
}

static void images(void)
{
    lmmiqa_image *img = NULL;
    check(lmmiqa_image_create(13, 9, &img), "image");
    if (!img)
        return;
    for (int i = 0; i < 13 * 9 * 3; i++)
        img->pixels[i] = (uint8_t)(i * 37);
    check(lmmiqa_image_save_png(img, path_in("image", "small.png")), "png");
    check(lmmiqa_image_save_jpeg(img, path_in("image", "small.jpg"), 70), "jpeg");
    lmmiqa_image_destroy(img);
    /* 2x2 24-bit BMP, bottom-up. */
    static const unsigned char bmp[] = {
        'B', 'M', 70, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0,
        1, 0, 24, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0x13, 0x0b, 0, 0, 0x13, 0x0b, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 0, 255, 255, 255, 255, 0, 0};
    check(lmmiqa__file_write_atomic(path_in("image", "tiny.bmp"), bmp, sizeof bmp), "bmp");
}

static void csvs(void)
{
    text("csv", "generic.csv", "image,mos,std,group,set\na.png,1.5,0.2,1,training\n"
                               "b.png,3,0.1,2,test\n\"c, d.png\",2.25,,1,validation\n");
    text("csv", "livec.csv", "image,mos,std\nImages/1.png,32.5,19.1\nImages/2.png,66.3,20.2\n");
    text("csv", "koniq.csv", "image_name,c1,c2,c3,c4,c5,c_total,MOS,SD,set\n"
                             "1.jpg,0,1,5,60,34,100,77.1,0.6,training\n"
                             "2.jpg,2,10,50,30,8,100,55.2,0.8,test\n");
    text("csv", "koniq_derived.csv", "image_name,mos_1to5,mos_zscore_0to100,sd_1to5,n_ratings,set\n"
                                     "1.jpg,3.5,60.1,0.7,120,training\n");
    text("csv", "spaq.csv", "\xef\xbb\xbfImage name,MOS,Brightness\n00001.jpg,45.5,40\n");
    text("csv", "CID2013.txt", "dis_img_path,dis_type,score\nCID/IS1/a.jpg,A,51\n"
                               "CID/IS2/b.jpg,B,62.5\n");
    text("csv", "tabs.csv", "image\tmos\na.png\t1\nb.png\t2\n");
}

static void xlsx(void)
{
    const char *path = path_in("xlsx", "spaq.xlsx");
    unlink(path);
    int err = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!za) {
        failures++;
        return;
    }
    static const char wb[] =
        "<?xml version=\"1.0\"?><workbook xmlns=\"http://schemas.openxmlformats.org/"
        "spreadsheetml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/"
        "2006/relationships\"><sheets><sheet name=\"Sheet1\" sheetId=\"1\" r:id=\"rId1\"/>"
        "</sheets></workbook>";
    static const char rels[] =
        "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/"
        "2006/relationships\"><Relationship Id=\"rId1\" Type=\"worksheet\" "
        "Target=\"worksheets/sheet1.xml\"/></Relationships>";
    static const char sst[] = "<sst><si><t>Image name</t></si><si><r><t>M</t></r><r><t>OS</t>"
                              "</r></si><si><t>a.jpg</t></si></sst>";
    static const char sheet[] =
        "<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c>"
        "<c r=\"B1\" t=\"s\"><v>1</v></c></row>"
        "<row r=\"3\"><c r=\"A3\" t=\"s\"><v>2</v></c><c r=\"B3\"><v>12.5</v></c></row>"
        "<row r=\"4\"><c r=\"A4\" t=\"inlineStr\"><is><t>b.jpg</t></is></c><c r=\"B4\">"
        "<v>99</v></c></row></sheetData></worksheet>";
    const char *names[4] = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                            "xl/sharedStrings.xml", "xl/worksheets/sheet1.xml"};
    const char *parts[4] = {wb, rels, sst, sheet};
    for (int i = 0; i < 4; i++) {
        zip_source_t *s = zip_source_buffer(za, parts[i], strlen(parts[i]), 0);
        if (!s || zip_file_add(za, names[i], s, ZIP_FL_OVERWRITE) < 0)
            failures++;
    }
    if (zip_close(za) != 0)
        failures++;
}

static void mat(void)
{
    const char *path = path_in("mat", "livec3.mat");
    unlink(path);
    mat_t *m = Mat_CreateVer(path, NULL, MAT_FT_MAT5);
    if (!m) {
        failures++;
        return;
    }
    static const char *const names[3] = {"t1.bmp", "100.bmp", "101.JPG"};
    size_t dims[2] = {1, 3};
    matvar_t *cell = Mat_VarCreate("AllImages_release", MAT_C_CELL, MAT_T_CELL, 2, dims, NULL, 0);
    for (int i = 0; cell && i < 3; i++) {
        size_t cd[2] = {1, strlen(names[i])};
        matvar_t *c = Mat_VarCreate(NULL, MAT_C_CHAR, MAT_T_UINT8, 2, cd, (void *)names[i], 0);
        Mat_VarSetCell(cell, i, c);
    }
    double mos[3] = {50, 32.5, 66.25}, sd[3] = {1, 19.5, 20};
    matvar_t *vm = Mat_VarCreate("AllMOS_release", MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims, mos, 0);
    matvar_t *vs = Mat_VarCreate("AllStdDev_release", MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims, sd, 0);
    if (!cell || !vm || !vs || Mat_VarWrite(m, cell, MAT_COMPRESSION_NONE) ||
        Mat_VarWrite(m, vm, MAT_COMPRESSION_NONE) || Mat_VarWrite(m, vs, MAT_COMPRESSION_NONE))
        failures++;
    Mat_VarFree(cell);
    Mat_VarFree(vm);
    Mat_VarFree(vs);
    Mat_Close(m);
}

static void npy(void)
{
    float v[12];
    for (int i = 0; i < 12; i++)
        v[i] = (float)i * 0.5f - 2.0f;
    check(lmmiqa_npy_write_f32(path_in("npy", "3x4.npy"), v, 3, 4), "npy");
    check(lmmiqa_npy_write_f32(path_in("npy", "1x1.npy"), v, 1, 1), "npy");
}

static void models(void)
{
    enum { N = 24, D = 3 };
    float x[N * D];
    double mos[N];
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < D; k++)
            x[i * D + k] = (float)((i * (k + 2)) % 7);
        mos[i] = 20.0 + 5.0 * x[i * D] - x[i * D + 1];
    }
    const lmmiqa_head heads[3] = {LMMIQA_HEAD_LINEAR, LMMIQA_HEAD_MLP, LMMIQA_HEAD_SVR};
    const char *files[3] = {"linear.safetensors", "mlp.safetensors", "svr.safetensors"};
    for (int h = 0; h < 3; h++) {
        lmmiqa_regressor_config cfg;
        lmmiqa_regressor_config_init(&cfg);
        cfg.head = heads[h];
        cfg.hidden = 4;
        cfg.epochs = 2;
        lmmiqa_regressor *reg = NULL;
        check(lmmiqa_regressor_train(&cfg, x, mos, N, D, 0, 100, NULL, NULL, 0, &reg), files[h]);
        if (reg)
            check(lmmiqa_regressor_save(reg, path_in("model", files[h]), "{\"features\":\"x\"}"),
                  files[h]);
        if (reg && h == 0)
            check(lmmiqa_regressor_save(reg, path_in("safetensors", files[h]), NULL), files[h]);
        lmmiqa_regressor_destroy(reg);
    }
    lmmiqa_cnniqa_config cc;
    lmmiqa_cnniqa_config_init(&cc);
    cc.filters = 2;
    cc.fc = 4;
    lmmiqa_cnniqa *m = NULL;
    check(lmmiqa_cnniqa_create(&cc, &m), "cnniqa");
    if (m)
        check(lmmiqa_cnniqa_save(m, path_in("safetensors", "cnniqa.safetensors")), "cnniqa");
    lmmiqa_cnniqa_destroy(m);
}

static void splits(void)
{
    lmmiqa_splits *s = NULL;
    check(lmmiqa_splits_random(64, 2, 0.2, 0.1, 7, &s), "splits");
    if (s)
        check(lmmiqa_splits_save_json(s, path_in("splits", "random.json")), "splits");
    lmmiqa_splits_destroy(s);
    text("splits", "pyiqa.json", "{\"1\": {\"train\": [0, 1, 2, 3, 4, 5, 6, 7], \"val\": [8, 9]},"
                                 " \"2\": {\"train\": [9, 8, 7, 6, 5, 4, 3], \"val\": [0, 1]}}");
}

/* The checked-in PyTorch checkpoint as is, and its pickle, pulled out with
 * libzip; the checked-in safetensors reference. */
/* fuzz_serve: "CONTENT-TYPE\0ACCEPT-OR-FLAG\0BODY". */
static void serve_seed(const char *name, const char *ctype, const char *accept, const char *body)
{
    char buf[2048];
    size_t a = strlen(ctype), b = strlen(accept), c = strlen(body);
    if (a + b + c + 2 > sizeof buf)
        return;
    memcpy(buf, ctype, a);
    buf[a] = '\0';
    memcpy(buf + a + 1, accept, b);
    buf[a + 1 + b] = '\0';
    memcpy(buf + a + b + 2, body, c);
    check(lmmiqa__file_write_atomic(path_in("serve", name), buf, a + b + 2 + c), name);
}

static void serve(void)
{
    serve_seed("two_parts", "multipart/form-data; boundary=XyZ", "1",
               "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.png\"\r\n"
               "Content-Type: image/png\r\n\r\n\x89PNG\r\n--XyZ\r\nContent-Disposition: "
               "form-data; name=\"g\"; filename=\"b.jpg\"\r\n\r\n\xff\xd8\xff\r\n--XyZ--\r\n");
    serve_seed("quoted", "Multipart/Form-Data; charset=utf-8; boundary=\"a b:c\"",
               "application/x-npy;q=0.9, application/json;q=0.5", "preamble\r\n--a b:c\r\n\r\n"
               "x\r\n--a b:c--");
    serve_seed("raw", "image/jpeg", "true", "\xff\xd8\xff\xe0");
    serve_seed("truncated", "multipart/form-data; boundary=B", "no",
               "--B\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nabc");
}

static void from_sources(const char *src)
{
    char in[4096];
    unsigned char *d = NULL;
    size_t n = 0;
    snprintf(in, sizeof in, "%s/tests/data/vit/st_reference.safetensors", src);
    if (lmmiqa__file_read_all(in, 1 << 24, &d, &n) == LMMIQA_OK)
        check(lmmiqa__file_write_atomic(path_in("safetensors", "st_reference.safetensors"), d, n),
              "st_reference");
    else
        failures++;
    free(d);
    snprintf(in, sizeof in, "%s/tests/data/vit/micro_hps.pt", src);
    if (lmmiqa__file_read_all(in, 1 << 24, &d, &n) == LMMIQA_OK)
        check(lmmiqa__file_write_atomic(path_in("torchzip", "micro_hps.pt"), d, n), "micro_hps");
    else
        failures++;
    free(d);
    int err = 0;
    zip_t *za = zip_open(in, ZIP_RDONLY, &err);
    if (!za) {
        failures++;
        return;
    }
    for (zip_int64_t i = 0; i < zip_get_num_entries(za, 0); i++) {
        const char *name = zip_get_name(za, (zip_uint64_t)i, 0);
        size_t len = name ? strlen(name) : 0;
        zip_stat_t st;
        if (len < 9 || strcmp(name + len - 9, "/data.pkl") != 0 ||
            zip_stat_index(za, (zip_uint64_t)i, 0, &st) != 0 || st.size > (1u << 24))
            continue;
        unsigned char *buf = malloc(st.size ? st.size : 1);
        zip_file_t *f = zip_fopen_index(za, (zip_uint64_t)i, 0);
        if (buf && f && zip_fread(f, buf, st.size) == (zip_int64_t)st.size)
            check(lmmiqa__file_write_atomic(path_in("pickle", "data.pkl"), buf, st.size), "pkl");
        else
            failures++;
        if (f)
            zip_fclose(f);
        free(buf);
    }
    zip_close(za);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: make_seeds OUT SOURCE_DIR\n");
        return 2;
    }
    out = argv[1];
    mkdir(out, 0755);
    images();
    csvs();
    xlsx();
    mat();
    npy();
    models();
    splits();
    serve();
    from_sources(argv[2]);
    return failures ? 1 : 0;
}
