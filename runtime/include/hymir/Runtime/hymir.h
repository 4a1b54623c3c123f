/*===- hymir.h - the hymir runtime's C API -------------------------------===*
 *
 * A C interface over the C++ runtime (Runtime.h) for other languages. Every
 * call that can fail returns NULL or a non-zero code; hymir_last_error()
 * then holds a message for the calling thread. Objects are released with
 * their *_destroy function.
 *
 * A loaded module describes itself: its entries, each entry's inputs and
 * outputs, and the parameters hymir_module_bind_weights binds, each with
 * name, dtype and shape (-1 for a dim that depends on the token count).
 * Strings and shapes these calls return stay valid until the module is
 * destroyed.
 *
 * Device values hold a tensor on the device across calls: a decode step's
 * KV cache or recurrent state, an input tied to a result (hymir.tied) that
 * hymir_module_call_values updates in place, with no copy:
 *
 *   hymir_value *cache = hymir_module_allocate(module, "step", "cache",
 *                                              NULL, 0);  (zero-filled)
 *   hymir_named_value values[] = {{"cache", cache}};
 *   for (...)
 *     hymir_outputs_destroy(hymir_module_call_values(module, "step",
 *                                                    &x, 1, values, 1));
 *   hymir_value_download(cache, host, bytes);
 *   hymir_value_destroy(cache);
 *
 * Build against the installed runtime with find_package(hymir) (target
 * hymir::runtime) or pkg-config (`pkg-config --cflags --libs hymir`); see
 * the README and examples/embed.
 *
 *===---------------------------------------------------------------------===*/

#ifndef HYMIR_RUNTIME_HYMIR_H
#define HYMIR_RUNTIME_HYMIR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Element types; the values match the artifact schema. */
typedef enum hymir_dtype {
  HYMIR_F32 = 0,
  HYMIR_BF16 = 1,
  HYMIR_F16 = 2,
  HYMIR_F64 = 3,
  HYMIR_I32 = 4,
  HYMIR_I64 = 5,
  HYMIR_U8 = 6
} hymir_dtype;

typedef struct hymir_runtime hymir_runtime;
typedef struct hymir_module hymir_module;
typedef struct hymir_outputs hymir_outputs;
typedef struct hymir_value hymir_value;

/* A named tensor: dense, row-major. For inputs the runtime copies the data;
 * for outputs `data` points into the hymir_outputs object. */
typedef struct hymir_tensor {
  const char *name;
  hymir_dtype dtype;
  int32_t rank;
  const int64_t *shape;
  const void *data;
  size_t size_bytes;
} hymir_tensor;

/* What a module says about one of its tensors. `shape` has `rank` dims; a
 * dim that depends on the token count is -1 (its size at a call is the
 * token count, or an expression of it; see hymir-dump). */
typedef struct hymir_tensor_info {
  const char *name;
  hymir_dtype dtype;
  int32_t rank;
  const int64_t *shape;
} hymir_tensor_info;

/* The message of the last failed call on this thread ("" if none). */
const char *hymir_last_error(void);

/* device: "cpu", "cuda" or "cuda:N". */
hymir_runtime *hymir_runtime_create(const char *device);
void hymir_runtime_destroy(hymir_runtime *runtime);

/* Loads and verifies an artifact. The module must be destroyed before its
 * runtime. */
hymir_module *hymir_module_load(hymir_runtime *runtime, const char *path);
void hymir_module_destroy(hymir_module *module);

/* The module's entries (the functions hymir_module_call runs). An index out
 * of range gives NULL, and hymir_last_error says so. */
size_t hymir_module_entry_count(const hymir_module *module);
const char *hymir_module_entry_name(const hymir_module *module, size_t entry);
/* The index of the entry named `name` in *index; 0 on success, non-zero
 * when there is none (the message lists the entries). */
int hymir_module_find_entry(const hymir_module *module, const char *name,
                            size_t *index);
/* The largest token count the entry was compiled for, or 0 when its shapes
 * are all static. */
int64_t hymir_module_entry_max_tokens(const hymir_module *module, size_t entry);

/* An entry's inputs and outputs, in the order the entry declares them; the
 * *_info calls fill `out` and return 0, or non-zero for an index out of
 * range. */
size_t hymir_module_input_count(const hymir_module *module, size_t entry);
int hymir_module_input_info(const hymir_module *module, size_t entry,
                            size_t index, hymir_tensor_info *out);
size_t hymir_module_output_count(const hymir_module *module, size_t entry);
int hymir_module_output_info(const hymir_module *module, size_t entry,
                             size_t index, hymir_tensor_info *out);

/* The index of the input output `index` of `entry` is tied to (hymir.tied:
 * the call updates that input in place and the output is its new value),
 * or -1 for an untied output or an index out of range. */
int64_t hymir_module_output_tied_to(const hymir_module *module, size_t entry,
                                    size_t index);

/* The module's parameters (weights): what hymir_module_bind_weights reads
 * from its file, by name. Their shapes are static. */
size_t hymir_module_param_count(const hymir_module *module);
int hymir_module_param_info(const hymir_module *module, size_t index,
                            hymir_tensor_info *out);

/* Binds every parameter from a safetensors file, or from the shards a
 * model.safetensors.index.json names, or from a model directory holding
 * either; 0 on success. */
int hymir_module_bind_weights(hymir_module *module, const char *path);

/* Runs an entry on `count` named inputs. */
hymir_outputs *hymir_module_call(hymir_module *module, const char *entry,
                                 const hymir_tensor *inputs, size_t count);

/* A device value: a zero-filled tensor in device memory (host memory on
 * "cpu") of the dtype and shape of input `input` of `entry`. `shape` and
 * `rank` give the shape when the input has a dim that depends on the token
 * count; otherwise pass NULL and 0. A value serves every entry (and module
 * of the runtime on the same devices) with an input of its dtype and shape.
 * It may be destroyed before or after its module. */
hymir_value *hymir_module_allocate(hymir_module *module, const char *entry,
                                   const char *input, const int64_t *shape,
                                   int32_t rank);
/* The value's dtype and shape; `name` is NULL. 0 on success. */
int hymir_value_info(const hymir_value *value, hymir_tensor_info *out);
/* Copies `size_bytes` bytes (exactly the value's size, dense row-major)
 * from the host into the value, or from the value to the host; 0 on
 * success. */
int hymir_value_upload(hymir_value *value, const void *data, size_t size_bytes);
int hymir_value_download(const hymir_value *value, void *data,
                         size_t size_bytes);
void hymir_value_destroy(hymir_value *value);

/* A device value passed to hymir_module_call_values for input `name`. */
typedef struct hymir_named_value {
  const char *name;
  hymir_value *value;
} hymir_named_value;

/* Runs an entry on `count` host inputs and `value_count` device values,
 * which together name every input once. A value is read in place; a value
 * for a tied input is updated in place, and its tied output is not among
 * the returned outputs. A tied input passed as a host tensor is copied in,
 * and its new value comes back as an ordinary output. */
hymir_outputs *hymir_module_call_values(hymir_module *module, const char *entry,
                                        const hymir_tensor *inputs,
                                        size_t count,
                                        const hymir_named_value *values,
                                        size_t value_count);

/* How hymir_module_call_options runs an entry (CallOptions in Runtime.h).
 * Zero-initialise it, then set what you need, so that fields added later
 * keep their defaults. */
typedef struct hymir_call_options {
  /* Non-zero: keep the call's device storage for the next call with the
   * same token count, batch and device values, and on cuda run the steps
   * as a CUDA graph (the first call of such a key launches them, the
   * second captures, later ones replay). Where no graph can be made (the
   * cpu device, several devices) the steps are launched one by one and
   * hymir_module_cuda_graph_use says why. For calls that repeat, like a
   * decode step. */
  int32_t cuda_graphs;
} hymir_call_options;

/* hymir_module_call_values run as `options` say (NULL: as without them). */
hymir_outputs *
hymir_module_call_options(hymir_module *module, const char *entry,
                          const hymir_tensor *inputs, size_t count,
                          const hymir_named_value *values, size_t value_count,
                          const hymir_call_options *options);

/* What hymir_call_options.cuda_graphs has done for `entry` so far. */
typedef struct hymir_cuda_graph_use {
  int64_t graphs;      /* graphs captured, one per key */
  int64_t replays;     /* calls that ran as a graph launch */
  int64_t plain_calls; /* calls that launched the steps one by one */
  /* Why graphs are not used for the entry, or "" while they are or nothing
   * asked for them; valid until the next call on the module. */
  const char *not_used;
} hymir_cuda_graph_use;

/* Fills `out` for `entry`; 0 on success, non-zero for an unknown entry. */
int hymir_module_cuda_graph_use(hymir_module *module, const char *entry,
                                hymir_cuda_graph_use *out);

size_t hymir_outputs_count(const hymir_outputs *outputs);
/* Fills `out` with output `index` (valid until the outputs are destroyed);
 * 0 on success. */
int hymir_outputs_get(const hymir_outputs *outputs, size_t index,
                      hymir_tensor *out);
void hymir_outputs_destroy(hymir_outputs *outputs);

#ifdef __cplusplus
}
#endif

#endif /* HYMIR_RUNTIME_HYMIR_H */
