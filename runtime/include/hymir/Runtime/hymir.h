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

/* The module's parameters (weights): what hymir_module_bind_weights reads
 * from its file, by name. Their shapes are static. */
size_t hymir_module_param_count(const hymir_module *module);
int hymir_module_param_info(const hymir_module *module, size_t index,
                            hymir_tensor_info *out);

/* Binds every parameter from a safetensors file; 0 on success. */
int hymir_module_bind_weights(hymir_module *module, const char *path);

/* Runs an entry on `count` named inputs. */
hymir_outputs *hymir_module_call(hymir_module *module, const char *entry,
                                 const hymir_tensor *inputs, size_t count);

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
