/* embed.c - run a compiled hymir artifact from a C program.
 *
 * Builds with the runtime library only (no MLIR): loads the artifact
 * compiled from gated_projection.mlir, checks through the C API's
 * introspection that it takes what this program passes, binds its weights
 * from a safetensors file, runs the entry on a few token counts and checks
 * every output against a plain loop written here.
 *
 * Usage: embed ARTIFACT WEIGHTS.safetensors [device]
 * (WEIGHTS holds "gate.weight" and "up.weight", f32 [8, 16]; the program
 * writes it itself when the file does not exist.) */

#include "hymir/Runtime/hymir.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kIn = 16, kOut = 8 };

static float gate[kOut * kIn], up[kOut * kIn];

/* A deterministic, non-zero pseudo-random value in [-1, 1). */
static float next_value(unsigned *state) {
  *state = *state * 1664525u + 1013904223u;
  return (float)((*state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* Writes the two weights as a safetensors file. */
static int write_weights(const char *path) {
  char header[256];
  size_t bytes = sizeof(gate);
  int n = snprintf(header, sizeof(header),
                   "{\"gate.weight\":{\"dtype\":\"F32\",\"shape\":[%d,%d],"
                   "\"data_offsets\":[0,%zu]},\"up.weight\":{\"dtype\":\"F32\","
                   "\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}}",
                   kOut, kIn, bytes, kOut, kIn, bytes, 2 * bytes);
  while (n % 8)
    header[n++] = ' ';
  FILE *f = fopen(path, "wb");
  if (!f)
    return 1;
  uint64_t len = (uint64_t)n;
  int ok = fwrite(&len, 8, 1, f) == 1 && fwrite(header, 1, n, f) == (size_t)n &&
           fwrite(gate, 1, bytes, f) == bytes &&
           fwrite(up, 1, bytes, f) == bytes;
  return fclose(f) != 0 || !ok;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: embed ARTIFACT WEIGHTS.safetensors [device]\n");
    return 2;
  }
  unsigned state = 12345u;
  for (int i = 0; i < kOut * kIn; ++i) {
    gate[i] = next_value(&state) * 0.25f;
    up[i] = next_value(&state) * 0.25f;
  }
  if (write_weights(argv[2])) {
    fprintf(stderr, "embed: cannot write %s\n", argv[2]);
    return 1;
  }

  hymir_runtime *runtime = hymir_runtime_create(argc > 3 ? argv[3] : "cpu");
  if (!runtime) {
    fprintf(stderr, "embed: %s\n", hymir_last_error());
    return 1;
  }
  hymir_module *module = hymir_module_load(runtime, argv[1]);
  if (!module || hymir_module_bind_weights(module, argv[2])) {
    fprintf(stderr, "embed: %s\n", hymir_last_error());
    return 1;
  }

  /* What the module expects, from the module itself: the entry, its input
   * (-1 marks the token dim) and the largest token count it takes. */
  size_t entry;
  hymir_tensor_info x_info;
  if (hymir_module_find_entry(module, "gated_projection", &entry) ||
      hymir_module_input_info(module, entry, 0, &x_info)) {
    fprintf(stderr, "embed: %s\n", hymir_last_error());
    return 1;
  }
  if (x_info.rank != 2 || x_info.shape[0] != -1 || x_info.shape[1] != kIn ||
      x_info.dtype != HYMIR_F32 || strcmp(x_info.name, "x") != 0 ||
      hymir_module_param_count(module) != 2) {
    fprintf(stderr, "embed: the artifact is not gated_projection's\n");
    return 1;
  }
  printf("embed: entry %s takes %s [tokens <= %lld, %lld] and %zu params\n",
         hymir_module_entry_name(module, entry), x_info.name,
         (long long)hymir_module_entry_max_tokens(module, entry),
         (long long)x_info.shape[1], hymir_module_param_count(module));

  int failures = 0;
  const int64_t tokens[] = {1, 5, 33};
  for (size_t c = 0; c < sizeof(tokens) / sizeof(tokens[0]); ++c) {
    int64_t t = tokens[c];
    float *x = malloc(sizeof(float) * t * kIn);
    for (int64_t i = 0; i < t * kIn; ++i)
      x[i] = next_value(&state);
    int64_t shape[2] = {t, kIn};
    hymir_tensor input = {"x", HYMIR_F32, 2, shape, x, sizeof(float) * t * kIn};
    hymir_outputs *outputs =
        hymir_module_call(module, "gated_projection", &input, 1);
    hymir_tensor y;
    if (!outputs || hymir_outputs_get(outputs, 0, &y)) {
      fprintf(stderr, "embed: %s\n", hymir_last_error());
      return 1;
    }
    double err = 0, norm = 0;
    for (int64_t r = 0; r < t; ++r) {
      for (int o = 0; o < kOut; ++o) {
        double g = 0, u = 0;
        for (int k = 0; k < kIn; ++k) {
          g += (double)x[r * kIn + k] * gate[o * kIn + k];
          u += (double)x[r * kIn + k] * up[o * kIn + k];
        }
        double want = u / (1.0 + exp(-g));
        double got = ((const float *)y.data)[r * kOut + o];
        err += (got - want) * (got - want);
        norm += want * want;
      }
    }
    double rel = sqrt(err) / (sqrt(norm) + 1e-30);
    int ok = y.rank == 2 && y.shape[0] == t && y.shape[1] == kOut &&
             strcmp(y.name, "y") == 0 && rel < 1e-5;
    printf("embed: T = %lld, output %s [%lld, %lld], relative error %.2e: %s\n",
           (long long)t, y.name, (long long)y.shape[0], (long long)y.shape[1],
           rel, ok ? "ok" : "WRONG");
    failures += !ok;
    hymir_outputs_destroy(outputs);
    free(x);
  }

  /* A bad call gives a message, not a crash. */
  int64_t bad_shape[2] = {2, kIn + 1};
  float bad[2 * (kIn + 1)] = {0};
  hymir_tensor wrong = {"x", HYMIR_F32, 2, bad_shape, bad, sizeof(bad)};
  if (hymir_module_call(module, "gated_projection", &wrong, 1)) {
    fprintf(stderr, "embed: a mis-shaped input was accepted\n");
    ++failures;
  } else {
    printf("embed: mis-shaped input rejected: %s\n", hymir_last_error());
  }

  hymir_module_destroy(module);
  hymir_runtime_destroy(runtime);
  return failures ? 1 : 0;
}
