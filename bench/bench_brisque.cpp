// bench/bench_brisque.cpp - BRISQUE feature extraction: lmmiqa vs OpenCV 4.6
// (cv::quality::QualityBRISQUE::computeFeatures), side by side in one run.
//
// Usage: bench_brisque [IMAGE] [REPS]
//   IMAGE defaults to ../shared/data/livec/Images/1000.JPG (a 500x500 LIVE
//   Challenge photo); the 1024x768 case is that photo resized with lmmiqa's
//   MATLAB imresize (bicubic) and rounded to 8 bits. Both libraries get the
//   same 8-bit grey image. Reported: median ms per image over REPS runs (one
//   thread each), then images/s with all cores: lmmiqa runs one image per
//   thread (one state each); OpenCV runs with its own threading
//   (cv::setNumThreads default) and, for reference, also one image per
//   thread with cv::setNumThreads(1). Finally the largest relative
//   difference between the two feature vectors (they follow different
//   conventions: OpenCV works in float32 on a 0..1 scale, replicates borders,
//   resizes with INTER_CUBIC, fits the first two features with an AGGD and
//   stops its grid search at the first increase - see docs/brisque.md).
#include <opencv2/core.hpp>
#include <opencv2/quality.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include "bench_load.h"
#include "lmmiqa/brisque.h"
#include "lmmiqa/core.h"
#include "lmmiqa/image.h"
#include "image/resize.h"
}

using clk = std::chrono::steady_clock;

static double ms_since(clk::time_point t0)
{
    return std::chrono::duration<double, std::milli>(clk::now() - t0).count();
}

static double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Gray {
    int w, h;
    std::vector<uint8_t> px;
};

static void die(const char *what)
{
    std::fprintf(stderr, "bench_brisque: %s: %s\n", what, lmmiqa_error_message());
    std::exit(1);
}

static Gray resized(const Gray &g, int w, int h)
{
    std::vector<double> in(g.px.begin(), g.px.end()), out((size_t)w * h);
    if (lmmiqa_resize_to(in.data(), g.w, g.h, w, h, out.data()))
        die("resize");
    Gray r{w, h, std::vector<uint8_t>((size_t)w * h)};
    for (size_t i = 0; i < out.size(); i++)
        r.px[i] = (uint8_t)std::min(255.0, std::max(0.0, std::round(out[i])));
    return r;
}

static double ours_once(lmmiqa_brisque_state *st, const Gray &g, double f[36])
{
    auto t0 = clk::now();
    if (lmmiqa_brisque_features_gray(st, g.px.data(), g.w, g.h, f))
        die("lmmiqa_brisque_features_gray");
    return ms_since(t0);
}

static double cv_once(const Gray &g, cv::Mat &feat)
{
    cv::Mat m(g.h, g.w, CV_8UC1, (void *)g.px.data());
    auto t0 = clk::now();
    cv::quality::QualityBRISQUE::computeFeatures(m, feat);
    return ms_since(t0);
}

// images/s with `threads` workers each running `per_thread` images.
template <class F> static double throughput(int threads, int per_thread, F work)
{
    auto t0 = clk::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; t++)
        pool.emplace_back([&, t] { work(t, per_thread); });
    for (auto &th : pool)
        th.join();
    return threads * per_thread / (ms_since(t0) / 1000.0);
}

int main(int argc, char **argv)
{
    bench_start_load(); /* the idle gate reads the load before any work */
    std::string path = argc > 1 ? argv[1] : std::string(LMMIQA_SOURCE_DIR) +
                                                 "/../shared/data/livec/Images/1000.JPG";
    int reps = argc > 2 ? std::atoi(argv[2]) : 21;
    if (reps < 1)
        reps = 1;
    lmmiqa_image *img = nullptr;
    if (lmmiqa_image_load(path.c_str(), &img)) {
        std::fprintf(stderr, "bench_brisque: %s (pass an image path; the default needs "
                             "../shared)\n",
                     lmmiqa_error_message());
        return 1;
    }
    Gray base{img->width, img->height, std::vector<uint8_t>((size_t)img->width * img->height)};
    lmmiqa_image_to_gray(img, base.px.data());
    lmmiqa_image_destroy(img);
    std::vector<std::pair<std::string, Gray>> cases;
    if (base.w == 500 && base.h == 500)
        cases.push_back({"500x500", base});
    else
        cases.push_back({std::to_string(base.w) + "x" + std::to_string(base.h), base});
    cases.push_back({"1024x768", resized(base, 1024, 768)});
    int cores = (int)std::thread::hardware_concurrency();
    if (cores < 1)
        cores = 1;

    std::printf("BRISQUE features, %s, %d runs per case (median), %d cores\n", path.c_str(),
                reps, cores);
    std::printf("%-9s | %-26s | %10s | %12s | %8s\n", "size", "implementation", "ms/image",
                "images/s", "speedup");
    std::printf("----------+----------------------------+------------+--------------+---------\n");
    for (auto &c : cases) {
        const Gray &g = c.second;
        lmmiqa_brisque_state *st;
        if (lmmiqa_brisque_state_create(&st))
            die("state");
        double f[36];
        cv::Mat cvf;
        // warm-up (grows our scratch; OpenCV's first call allocates too)
        ours_once(st, g, f);
        cv::setNumThreads(1);
        cv_once(g, cvf);
        std::vector<double> t_ours, t_cv;
        for (int r = 0; r < reps; r++) {
            t_ours.push_back(ours_once(st, g, f));
            t_cv.push_back(cv_once(g, cvf));
        }
        double mo = median(t_ours), mc = median(t_cv);
        const int ratios = bench_ratios_allowed();
        auto ratio = [ratios](double r) {
            static char buf[4][32];
            static int k = 0;
            k = (k + 1) % 4;
            if (ratios)
                std::snprintf(buf[k], sizeof buf[k], "%.2fx", r);
            else
                std::snprintf(buf[k], sizeof buf[k], "n/a");
            return buf[k];
        };
        std::printf("%-9s | %-26s | %10.2f | %12.1f | %8s\n", c.first.c_str(),
                    "lmmiqa, 1 thread", mo, 1000.0 / mo, ratio(mc / mo));
        std::printf("%-9s | %-26s | %10.2f | %12.1f | %8s\n", c.first.c_str(),
                    "OpenCV 4.6, 1 thread", mc, 1000.0 / mc, "1.00x");

        int per = std::max(4, reps / 2);
        std::vector<double> tp_ours, tp_cv_own, tp_cv_par;
        for (int k = 0; k < 3; k++) {
            tp_ours.push_back(throughput(cores, per, [&](int, int n) {
                lmmiqa_brisque_state *s;
                if (lmmiqa_brisque_state_create(&s))
                    die("state");
                double ff[36];
                for (int i = 0; i < n; i++)
                    ours_once(s, g, ff);
                lmmiqa_brisque_state_destroy(s);
            }));
            cv::setNumThreads(-1);
            tp_cv_own.push_back(throughput(1, per * cores, [&](int, int n) {
                cv::Mat ff;
                for (int i = 0; i < n; i++)
                    cv_once(g, ff);
            }));
            cv::setNumThreads(1);
            tp_cv_par.push_back(throughput(cores, per, [&](int, int n) {
                cv::Mat ff;
                for (int i = 0; i < n; i++)
                    cv_once(g, ff);
            }));
        }
        double po = median(tp_ours), pc = median(tp_cv_own), pp = median(tp_cv_par);
        std::printf("%-9s | %-26s | %10.2f | %12.1f | %8s\n", c.first.c_str(),
                    "lmmiqa, image per thread", 1000.0 / po, po, ratio(po / pc));
        std::printf("%-9s | %-26s | %10.2f | %12.1f | %8s\n", c.first.c_str(),
                    "OpenCV, own threading", 1000.0 / pc, pc, "1.00x");
        std::printf("%-9s | %-26s | %10.2f | %12.1f | %8s\n", c.first.c_str(),
                    "OpenCV, image per thread", 1000.0 / pp, pp, ratio(pp / pc));

        // convention check: our MATLAB-convention features vs OpenCV's
        double worst = 0;
        int worst_i = 0;
        for (int i = 0; i < 36; i++) {
            double o = cvf.at<float>(0, i);
            double e = std::fabs(f[i] - o) / std::max(std::fabs(f[i]), 1e-12);
            if (e > worst) {
                worst = e;
                worst_i = i;
            }
        }
        std::printf("%-9s | max relative difference lmmiqa vs OpenCV features: %.3g (f%d: %.6g "
                    "vs %.6g; different conventions, see docs/brisque.md)\n",
                    c.first.c_str(), worst, worst_i + 1, f[worst_i],
                    (double)cvf.at<float>(0, worst_i));
        lmmiqa_brisque_state_destroy(st);
    }
    return 0;
}
