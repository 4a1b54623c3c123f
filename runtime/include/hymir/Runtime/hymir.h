/*===- hymir.h - the hymir runtime's C API -------------------------------===*
 *
 * A C interface over the C++ runtime (Runtime.h) for other languages. Every
 * call that can fail returns NULL or a non-zero code; hymir_last_error()
 * then holds a message for the calling thread. Objects are released with
 * their *_destroy function.
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

/* The message of the last failed call on this thread ("" if none). */
const char *hymir_last_error(void);

/* device: "cpu", "cuda" or "cuda:N". */
hymir_runtime *hymir_runtime_create(const char *device);
void hymir_runtime_destroy(hymir_runtime *runtime);

/* Loads and verifies an artifact. The module must be destroyed before its
 * runtime. */
hymir_module *hymir_module_load(hymir_runtime *runtime, const char *path);
void hymir_module_destroy(hymir_module *module);

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
