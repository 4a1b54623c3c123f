/*===- CApiProbe.c - the C API's introspection, from C --------------------===*
 *
 * Loads an artifact through the C API (compiled as C, so hymir.h stays
 * valid C) and prints what a C caller learns about it: entries, their
 * inputs and outputs, the parameters, and the messages of calls that fail.
 * test/runtime/capi.mlir checks the output with FileCheck.
 *
 *   hymir-capi-probe ARTIFACT
 *
 *===---------------------------------------------------------------------===*/

#include "hymir/Runtime/hymir.h"

#include <stdio.h>

static const char *dtypeName(hymir_dtype d) {
  static const char *names[] = {"f32", "bf16", "f16", "f64",
                                "i32", "i64",  "u8"};
  return d >= HYMIR_F32 && d <= HYMIR_U8 ? names[d] : "?";
}

static void printInfo(const char *what, size_t i, const hymir_tensor_info *t) {
  printf("  %s %zu %s %s [", what, i, t->name, dtypeName(t->dtype));
  for (int32_t d = 0; d < t->rank; ++d)
    printf("%s%lld", d ? ", " : "", (long long)t->shape[d]);
  printf("]\n");
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: hymir-capi-probe ARTIFACT\n");
    return 2;
  }
  hymir_runtime *runtime = hymir_runtime_create("cpu");
  if (!runtime) {
    fprintf(stderr, "runtime: %s\n", hymir_last_error());
    return 1;
  }
  hymir_module *module = hymir_module_load(runtime, argv[1]);
  if (!module) {
    printf("load failed: %s\n", hymir_last_error());
    hymir_runtime_destroy(runtime);
    return 1;
  }
  hymir_tensor_info info;
  for (size_t e = 0; e < hymir_module_entry_count(module); ++e) {
    printf("entry %zu %s, max tokens %lld\n", e,
           hymir_module_entry_name(module, e),
           (long long)hymir_module_entry_max_tokens(module, e));
    for (size_t i = 0; i < hymir_module_input_count(module, e); ++i)
      if (hymir_module_input_info(module, e, i, &info) == 0)
        printInfo("input", i, &info);
    for (size_t i = 0; i < hymir_module_output_count(module, e); ++i)
      if (hymir_module_output_info(module, e, i, &info) == 0)
        printInfo("output", i, &info);
  }
  for (size_t i = 0; i < hymir_module_param_count(module); ++i)
    if (hymir_module_param_info(module, i, &info) == 0)
      printInfo("param", i, &info);

  /* Calls that fail, and what they tell a C caller. */
  size_t index = 0;
  if (hymir_module_find_entry(module, hymir_module_entry_name(module, 0),
                              &index) == 0)
    printf("find first entry: %zu\n", index);
  if (hymir_module_find_entry(module, "nope", &index) != 0)
    printf("error: %s\n", hymir_last_error());
  if (!hymir_module_entry_name(module, 99))
    printf("error: %s\n", hymir_last_error());
  if (hymir_module_input_info(module, 0, 99, &info) != 0)
    printf("error: %s\n", hymir_last_error());
  if (hymir_module_param_info(module, 99, &info) != 0)
    printf("error: %s\n", hymir_last_error());
  /* A call before the weights are bound. */
  if (!hymir_module_call(module, hymir_module_entry_name(module, 0), NULL, 0))
    printf("error: %s\n", hymir_last_error());
  if (hymir_module_bind_weights(module, "/nonexistent.safetensors") != 0)
    printf("error: %s\n", hymir_last_error());

  hymir_module_destroy(module);
  hymir_runtime_destroy(runtime);
  return 0;
}
