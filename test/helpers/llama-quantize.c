/* Runs llama.cpp's own quantizer from the shared libraries node-llama-cpp ships, for byte
 * comparisons:
 *   llama-quantize model LIBLLAMA.so IN.gguf OUT.gguf LLAMA_FTYPE
 *     llama_model_quantize with `pure` (every 2-D weight to the file type's ggml type). Only the
 *     leading fields of llama_model_quantize_params are touched; their offsets are checked against
 *     the documented defaults first (exit 3 if this build's layout differs).
 *   llama-quantize rows LIBGGML-BASE.so GGML_TYPE N_PER_ROW IN.f32 OUT.bin
 *     ggml_quantize_chunk (what llama_model_quantize calls per tensor) over raw float32 rows, for
 *     types the model quantizer does not offer as a file type (NVFP4). */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Larger than the real struct: returned through a caller-provided buffer either way. */
typedef struct { _Alignas(16) unsigned char bytes[512]; } params_buffer;

static int quantize_rows(char **argv) {
  void *lib = dlopen(argv[0], RTLD_NOW | RTLD_GLOBAL);
  if (!lib) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 2;
  }
  size_t (*chunk)(int, const float *, void *, int64_t, int64_t, int64_t, const float *) =
      (size_t (*)(int, const float *, void *, int64_t, int64_t, int64_t, const float *))dlsym(lib, "ggml_quantize_chunk");
  if (!chunk) {
    fprintf(stderr, "missing ggml_quantize_chunk\n");
    return 2;
  }
  int type = atoi(argv[1]);
  int64_t per_row = atoll(argv[2]);
  FILE *in = fopen(argv[3], "rb");
  if (!in) return 2;
  fseek(in, 0, SEEK_END);
  long bytes = ftell(in);
  fseek(in, 0, SEEK_SET);
  float *src = malloc(bytes);
  void *dst = malloc(bytes + 64);
  if (!src || !dst || fread(src, 1, bytes, in) != (size_t)bytes) return 2;
  fclose(in);
  int64_t rows = bytes / 4 / per_row;
  size_t written = chunk(type, src, dst, 0, rows, per_row, NULL);
  FILE *out = fopen(argv[4], "wb");
  if (!out || fwrite(dst, 1, written, out) != written) return 2;
  fclose(out);
  return 0;
}

static int quantize_model(char **argv) {
  void *lib = dlopen(argv[0], RTLD_NOW | RTLD_GLOBAL);
  if (!lib) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 2;
  }
  void (*backend_init)(void) = (void (*)(void))dlsym(lib, "llama_backend_init");
  params_buffer (*default_params)(void) = (params_buffer (*)(void))dlsym(lib, "llama_model_quantize_default_params");
  uint32_t (*quantize)(const char *, const char *, const void *) = (uint32_t (*)(const char *, const char *, const void *))dlsym(lib, "llama_model_quantize");
  if (!backend_init || !default_params || !quantize) {
    fprintf(stderr, "missing llama_backend_init, llama_model_quantize_default_params or llama_model_quantize\n");
    return 2;
  }
  backend_init();
  params_buffer p = default_params();
  int32_t *ints = (int32_t *)p.bytes;
  /* int32 nthread = 0; ftype; ggml_type output_tensor_type = token_embedding_type = GGML_TYPE_COUNT;
   * bool allow_requantize = 0, quantize_output_tensor = 1, only_copy = 0, pure = 0 */
  if (ints[0] != 0 || ints[2] != ints[3] || ints[2] < 40 || p.bytes[16] != 0 || p.bytes[17] != 1 || p.bytes[18] != 0 || p.bytes[19] != 0) {
    fprintf(stderr, "llama_model_quantize_params layout differs from the one this helper knows\n");
    return 3;
  }
  ints[0] = 1;
  ints[1] = atoi(argv[3]);
  p.bytes[19] = 1;
  uint32_t rc = quantize(argv[1], argv[2], p.bytes);
  return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc == 6 && strcmp(argv[1], "model") == 0) return quantize_model(argv + 2);
  if (argc == 7 && strcmp(argv[1], "rows") == 0) return quantize_rows(argv + 2);
  fprintf(stderr, "usage: %s model LIBLLAMA.so IN.gguf OUT.gguf LLAMA_FTYPE\n       %s rows LIBGGML-BASE.so GGML_TYPE N_PER_ROW IN.f32 OUT.bin\n", argv[0], argv[0]);
  return 2;
}
