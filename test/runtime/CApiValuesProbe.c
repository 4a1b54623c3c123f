/*===- CApiValuesProbe.c - device values through the C API ---------------===*
 *
 * Runs the entry `step` of an artifact compiled from
 * test/runtime/capi-values.mlir (state_out = state * 0.5 + x, tied to
 * `state`) through the C API, compiled as C: the state is a device value
 * kept across calls and checked against a loop in C after each, then passed
 * as a host tensor; then the calls that fail and their messages.
 * test/runtime/capi-values.mlir checks the output with FileCheck.
 *
 *   hymir-capi-values-probe ARTIFACT
 *
 *===---------------------------------------------------------------------===*/

#include "hymir/Runtime/hymir.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { N = 64 };

/* The largest |got - want| over N floats. */
static float maxDiff(const float *got, const float *want) {
  float worst = 0;
  for (int i = 0; i < N; ++i)
    if (fabsf(got[i] - want[i]) > worst)
      worst = fabsf(got[i] - want[i]);
  return worst;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: hymir-capi-values-probe ARTIFACT\n");
    return 2;
  }
  hymir_runtime *runtime = hymir_runtime_create("cpu");
  hymir_module *module = runtime ? hymir_module_load(runtime, argv[1]) : NULL;
  if (!module) {
    printf("load failed: %s\n", hymir_last_error());
    return 1;
  }
  size_t entry = 0;
  if (hymir_module_find_entry(module, "step", &entry) != 0) {
    printf("error: %s\n", hymir_last_error());
    return 1;
  }
  for (size_t i = 0; i < hymir_module_output_count(module, entry); ++i) {
    hymir_tensor_info info;
    hymir_module_output_info(module, entry, i, &info);
    printf("output %zu %s tied to %lld\n", i, info.name,
           (long long)hymir_module_output_tied_to(module, entry, i));
  }

  hymir_value *state = hymir_module_allocate(module, "step", "state", NULL, 0);
  if (!state) {
    printf("error: %s\n", hymir_last_error());
    return 1;
  }
  hymir_tensor_info info;
  hymir_value_info(state, &info);
  printf("value rank %d [%lld, %lld]\n", info.rank, (long long)info.shape[0],
         (long long)info.shape[1]);

  /* Deterministic inputs: the numbers do not matter, the agreement does. */
  float want[N], got[N], x[N];
  for (int i = 0; i < N; ++i)
    want[i] = (float)((i * 37) % 19) / 7.0f - 1.0f;
  if (hymir_value_upload(state, want, sizeof(want)) != 0)
    printf("error: %s\n", hymir_last_error());
  int64_t shape[2] = {4, 16};
  hymir_tensor input = {"x", HYMIR_F32, 2, shape, x, sizeof(x)};
  hymir_named_value values[1] = {{"state", state}};
  for (int call = 0; call < 3; ++call) {
    for (int i = 0; i < N; ++i) {
      x[i] = (float)((i * 11 + call * 5) % 13) / 5.0f - 1.0f;
      want[i] = want[i] * 0.5f + x[i];
    }
    hymir_outputs *out =
        hymir_module_call_values(module, "step", &input, 1, values, 1);
    if (!out) {
      printf("error: %s\n", hymir_last_error());
      return 1;
    }
    if (hymir_value_download(state, got, sizeof(got)) != 0)
      printf("error: %s\n", hymir_last_error());
    printf("call %d: %zu outputs, state max diff %g\n", call,
           hymir_outputs_count(out), maxDiff(got, want));
    hymir_outputs_destroy(out);
  }

  /* Two more calls asking for CUDA graphs: the same values on every device;
   * on cpu the steps run one by one and the graph use says why. */
  hymir_call_options options;
  memset(&options, 0, sizeof(options));
  options.cuda_graphs = 1;
  for (int call = 3; call < 5; ++call) {
    for (int i = 0; i < N; ++i) {
      x[i] = (float)((i * 11 + call * 5) % 13) / 5.0f - 1.0f;
      want[i] = want[i] * 0.5f + x[i];
    }
    hymir_outputs *out = hymir_module_call_options(module, "step", &input, 1,
                                                   values, 1, &options);
    if (!out) {
      printf("error: %s\n", hymir_last_error());
      return 1;
    }
    if (hymir_value_download(state, got, sizeof(got)) != 0)
      printf("error: %s\n", hymir_last_error());
    printf("graph call %d: %zu outputs, state max diff %g\n", call,
           hymir_outputs_count(out), maxDiff(got, want));
    hymir_outputs_destroy(out);
  }
  hymir_cuda_graph_use use;
  if (hymir_module_cuda_graph_use(module, "step", &use) != 0)
    printf("error: %s\n", hymir_last_error());
  else
    printf("graphs %lld replays %lld plain %lld: %s\n", (long long)use.graphs,
           (long long)use.replays, (long long)use.plain_calls, use.not_used);
  if (hymir_module_cuda_graph_use(module, "nope", &use) != 0)
    printf("error: %s\n", hymir_last_error());

  /* The same entry with the state as a host tensor: the new state comes back
   * as an output. */
  hymir_tensor both[2] = {input,
                          {"state", HYMIR_F32, 2, shape, want, sizeof(want)}};
  hymir_outputs *out = hymir_module_call(module, "step", both, 2);
  if (!out) {
    printf("error: %s\n", hymir_last_error());
    return 1;
  }
  for (size_t i = 0; i < hymir_outputs_count(out); ++i) {
    hymir_tensor t;
    hymir_outputs_get(out, i, &t);
    printf("host call output %s\n", t.name);
  }
  hymir_outputs_destroy(out);

  /* Calls that fail. */
  hymir_named_value twice[2] = {{"state", state}, {"x", state}};
  if (!hymir_module_call_values(module, "step", NULL, 0, twice, 2))
    printf("error: %s\n", hymir_last_error());
  if (!hymir_module_call_values(module, "step", both, 2, values, 1))
    printf("error: %s\n", hymir_last_error());
  if (hymir_value_download(state, got, 4) != 0)
    printf("error: %s\n", hymir_last_error());
  if (hymir_value_upload(state, got, 4) != 0)
    printf("error: %s\n", hymir_last_error());
  if (!hymir_module_allocate(module, "step", "cache", NULL, 0))
    printf("error: %s\n", hymir_last_error());
  if (hymir_module_output_tied_to(module, entry, 9) == -1)
    printf("error: %s\n", hymir_last_error());

  hymir_value_destroy(state);
  hymir_module_destroy(module);
  hymir_runtime_destroy(runtime);
  return 0;
}
