/*
 * serve.c: run an ONNX model (e.g. one exported by kiln) with ONNX Runtime's C API, no Python.
 *
 * Usage:
 *   serve MODEL.onnx NAME SHAPE FILE [NAME SHAPE FILE ...]
 *
 *   NAME   a graph input name (e.g. "data")
 *   SHAPE  its dimensions, comma separated (e.g. "2,1,6,6"; "" or "scalar" for a 0-d input)
 *   FILE   the input values, raw little-endian in C order, of the element type the model
 *          declares for that input (read from the session): float32, float64, float16, int64,
 *          int32, int8, uint8 or bool (one byte, 0/1); numpy: x.astype("<i8").tofile(FILE)
 *
 * For every model output it prints one header line, then one value per line (%.9g, which
 * round-trips a float32 exactly):
 *   # output 0 name=fc_output shape=2,3
 *   0.123456791
 *   ...
 * Errors go to stderr with exit status 1 (2 for a usage error).
 *
 * The onnxruntime Python wheel ships libonnxruntime.so but no headers, so the few pieces of
 * onnxruntime_c_api.h this program needs are declared below. The C API is a table of function
 * pointers (struct OrtApi) reached through the one exported symbol, OrtGetApiBase(). ONNX
 * Runtime guarantees that table is append-only (entries never move between releases), so a
 * prefix of it with every slot in its documented order is ABI compatible with any release.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The API version requested from GetApi: any runtime at least this new serves the table
 * below (build.sh passes the installed wheel's own version). Every entry used here exists
 * since version 1. */
#ifndef ORT_API_VERSION
#define ORT_API_VERSION 13
#endif

/* ---- the subset of onnxruntime_c_api.h this program uses ----------------------------------- */
typedef struct OrtStatus OrtStatus;
typedef struct OrtEnv OrtEnv;
typedef struct OrtMemoryInfo OrtMemoryInfo;
typedef struct OrtSession OrtSession;
typedef struct OrtSessionOptions OrtSessionOptions;
typedef struct OrtValue OrtValue;
typedef struct OrtRunOptions OrtRunOptions;
typedef struct OrtTensorTypeAndShapeInfo OrtTensorTypeAndShapeInfo;
typedef struct OrtAllocator OrtAllocator;
typedef struct OrtTypeInfo OrtTypeInfo;

enum { ORT_LOGGING_LEVEL_WARNING = 2 };                       /* OrtLoggingLevel */
enum { OrtArenaAllocator = 1 };                               /* OrtAllocatorType */
enum { OrtMemTypeDefault = 0 };                               /* OrtMemType */
enum {                                                        /* ONNXTensorElementDataType */
    ONNX_FLOAT = 1, ONNX_UINT8 = 2, ONNX_INT8 = 3, ONNX_INT32 = 6, ONNX_INT64 = 7,
    ONNX_BOOL = 9, ONNX_FLOAT16 = 10, ONNX_DOUBLE = 11
};

typedef void (*OrtUnused)(void);   /* a slot this program never calls: one pointer wide */

/* OrtApi's first 101 entries, in the documented order; the comment gives each slot's index. */
typedef struct OrtApi {
    OrtStatus *(*CreateStatus)(int code, const char *msg);                               /*  0 */
    int (*GetErrorCode)(const OrtStatus *status);                                        /*  1 */
    const char *(*GetErrorMessage)(const OrtStatus *status);                             /*  2 */
    OrtStatus *(*CreateEnv)(int log_severity_level, const char *logid, OrtEnv **out);    /*  3 */
    OrtUnused CreateEnvWithCustomLogger, EnableTelemetryEvents, DisableTelemetryEvents;  /*  4 */
    OrtStatus *(*CreateSession)(const OrtEnv *env, const char *model_path,               /*  7 */
                                const OrtSessionOptions *options, OrtSession **out);
    OrtUnused CreateSessionFromArray;                                                    /*  8 */
    OrtStatus *(*Run)(OrtSession *session, const OrtRunOptions *run_options,             /*  9 */
                      const char *const *input_names, const OrtValue *const *inputs,
                      size_t input_len, const char *const *output_names,
                      size_t output_names_len, OrtValue **outputs);
    OrtStatus *(*CreateSessionOptions)(OrtSessionOptions **options);                     /* 10 */
    OrtUnused SetOptimizedModelFilePath, CloneSessionOptions, SetSessionExecutionMode,   /* 11 */
        EnableProfiling, DisableProfiling, EnableMemPattern, DisableMemPattern,          /* 14 */
        EnableCpuMemArena, DisableCpuMemArena, SetSessionLogId,                          /* 18 */
        SetSessionLogVerbosityLevel, SetSessionLogSeverityLevel,                         /* 21 */
        SetSessionGraphOptimizationLevel;                                                /* 23 */
    OrtStatus *(*SetIntraOpNumThreads)(OrtSessionOptions *options, int n);               /* 24 */
    OrtUnused SetInterOpNumThreads, CreateCustomOpDomain, CustomOpDomain_Add,            /* 25 */
        AddCustomOpDomain, RegisterCustomOpsLibrary;                                     /* 28 */
    OrtStatus *(*SessionGetInputCount)(const OrtSession *session, size_t *out);          /* 30 */
    OrtStatus *(*SessionGetOutputCount)(const OrtSession *session, size_t *out);         /* 31 */
    OrtUnused SessionGetOverridableInitializerCount;                                     /* 32 */
    OrtStatus *(*SessionGetInputTypeInfo)(const OrtSession *session, size_t index,       /* 33 */
                                          OrtTypeInfo **type_info);
    OrtUnused SessionGetOutputTypeInfo, SessionGetOverridableInitializerTypeInfo;        /* 34 */
    OrtStatus *(*SessionGetInputName)(const OrtSession *session, size_t index,           /* 36 */
                                      OrtAllocator *allocator, char **value);
    OrtStatus *(*SessionGetOutputName)(const OrtSession *session, size_t index,          /* 37 */
                                       OrtAllocator *allocator, char **value);
    OrtUnused SessionGetOverridableInitializerName, CreateRunOptions,                    /* 38 */
        RunOptionsSetRunLogVerbosityLevel, RunOptionsSetRunLogSeverityLevel,             /* 40 */
        RunOptionsSetRunTag, RunOptionsGetRunLogVerbosityLevel,                          /* 42 */
        RunOptionsGetRunLogSeverityLevel, RunOptionsGetRunTag, RunOptionsSetTerminate,   /* 44 */
        RunOptionsUnsetTerminate, CreateTensorAsOrtValue;                                /* 47 */
    OrtStatus *(*CreateTensorWithDataAsOrtValue)(                                        /* 49 */
        const OrtMemoryInfo *info, void *p_data, size_t p_data_len, const int64_t *shape,
        size_t shape_len, int type, OrtValue **out);
    OrtUnused IsTensor;                                                                  /* 50 */
    OrtStatus *(*GetTensorMutableData)(OrtValue *value, void **out);                     /* 51 */
    OrtUnused FillStringTensor, GetStringTensorDataLength, GetStringTensorContent;       /* 52 */
    OrtStatus *(*CastTypeInfoToTensorInfo)(const OrtTypeInfo *type_info,                 /* 55 */
                                           const OrtTensorTypeAndShapeInfo **out);
    OrtUnused GetOnnxTypeFromTypeInfo, CreateTensorTypeAndShapeInfo,                     /* 56 */
        SetTensorElementType, SetDimensions;                                             /* 58 */
    OrtStatus *(*GetTensorElementType)(const OrtTensorTypeAndShapeInfo *info, int *out); /* 60 */
    OrtStatus *(*GetDimensionsCount)(const OrtTensorTypeAndShapeInfo *info, size_t *out);  /* 61 */
    OrtStatus *(*GetDimensions)(const OrtTensorTypeAndShapeInfo *info,                   /* 62 */
                                int64_t *dim_values, size_t dim_values_length);
    OrtUnused GetSymbolicDimensions;                                                     /* 63 */
    OrtStatus *(*GetTensorShapeElementCount)(const OrtTensorTypeAndShapeInfo *info,      /* 64 */
                                             size_t *out);
    OrtStatus *(*GetTensorTypeAndShape)(const OrtValue *value,                           /* 65 */
                                        OrtTensorTypeAndShapeInfo **out);
    OrtUnused GetTypeInfo, GetValueType, CreateMemoryInfo;                               /* 66 */
    OrtStatus *(*CreateCpuMemoryInfo)(int type, int mem_type, OrtMemoryInfo **out);      /* 69 */
    OrtUnused CompareMemoryInfo, MemoryInfoGetName, MemoryInfoGetId,                     /* 70 */
        MemoryInfoGetMemType, MemoryInfoGetType, AllocatorAlloc;                         /* 73 */
    OrtStatus *(*AllocatorFree)(OrtAllocator *allocator, void *p);                       /* 76 */
    OrtUnused AllocatorGetInfo;                                                          /* 77 */
    OrtStatus *(*GetAllocatorWithDefaultOptions)(OrtAllocator **out);                    /* 78 */
    OrtUnused AddFreeDimensionOverride, GetValue, GetValueCount, CreateValue,            /* 79 */
        CreateOpaqueValue, GetOpaqueValue, KernelInfoGetAttribute_float,                 /* 83 */
        KernelInfoGetAttribute_int64, KernelInfoGetAttribute_string,                     /* 86 */
        KernelContext_GetInputCount, KernelContext_GetOutputCount,                       /* 88 */
        KernelContext_GetInput, KernelContext_GetOutput;                                 /* 90 */
    void (*ReleaseEnv)(OrtEnv *input);                                                   /* 92 */
    void (*ReleaseStatus)(OrtStatus *input);                                             /* 93 */
    void (*ReleaseMemoryInfo)(OrtMemoryInfo *input);                                     /* 94 */
    void (*ReleaseSession)(OrtSession *input);                                           /* 95 */
    void (*ReleaseValue)(OrtValue *input);                                               /* 96 */
    OrtUnused ReleaseRunOptions;                                                         /* 97 */
    void (*ReleaseTypeInfo)(OrtTypeInfo *input);                                         /* 98 */
    void (*ReleaseTensorTypeAndShapeInfo)(OrtTensorTypeAndShapeInfo *input);             /* 99 */
    void (*ReleaseSessionOptions)(OrtSessionOptions *input);                             /* 100 */
} OrtApi;

/* A slip in the slot list above would call the wrong function: pin every slot used. */
#define SLOT(name, index) \
    _Static_assert(offsetof(OrtApi, name) == (index) * sizeof(void *), "OrtApi slot " #name)
SLOT(GetErrorMessage, 2); SLOT(CreateEnv, 3); SLOT(CreateSession, 7); SLOT(Run, 9);
SLOT(CreateSessionOptions, 10); SLOT(SetIntraOpNumThreads, 24); SLOT(SessionGetInputCount, 30);
SLOT(SessionGetOutputCount, 31); SLOT(SessionGetInputTypeInfo, 33); SLOT(SessionGetInputName, 36);
SLOT(SessionGetOutputName, 37); SLOT(CastTypeInfoToTensorInfo, 55); SLOT(CreateTensorWithDataAsOrtValue, 49);
SLOT(GetTensorMutableData, 51); SLOT(GetTensorElementType, 60); SLOT(GetDimensionsCount, 61);
SLOT(GetDimensions, 62); SLOT(GetTensorShapeElementCount, 64); SLOT(GetTensorTypeAndShape, 65);
SLOT(CreateCpuMemoryInfo, 69); SLOT(AllocatorFree, 76); SLOT(GetAllocatorWithDefaultOptions, 78);
SLOT(ReleaseEnv, 92); SLOT(ReleaseStatus, 93); SLOT(ReleaseMemoryInfo, 94);
SLOT(ReleaseSession, 95); SLOT(ReleaseValue, 96); SLOT(ReleaseTypeInfo, 98);
SLOT(ReleaseTensorTypeAndShapeInfo, 99);
SLOT(ReleaseSessionOptions, 100);

typedef struct OrtApiBase {
    const OrtApi *(*GetApi)(uint32_t version);
    const char *(*GetVersionString)(void);
} OrtApiBase;

extern const OrtApiBase *OrtGetApiBase(void);

/* ---- helpers ------------------------------------------------------------------------------ */
static const OrtApi *g_ort;

/* Abort with ONNX Runtime's message when a call returns a status (NULL means success). */
static void check(OrtStatus *status, const char *what) {
    if (status == NULL) return;
    fprintf(stderr, "serve: %s failed: %s\n", what, g_ort->GetErrorMessage(status));
    g_ort->ReleaseStatus(status);
    exit(1);
}
#define ORT(fn, ...) check(g_ort->fn(__VA_ARGS__), #fn)

static void die(const char *msg, const char *arg) {
    fprintf(stderr, "serve: %s%s\n", msg, arg ? arg : "");
    exit(1);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) die("out of memory", NULL);
    return p;
}

/* "2,1,6,6" -> dims; returns the number of dimensions ("" and "scalar" give 0). */
static size_t parse_shape(const char *text, int64_t *dims, size_t max_dims) {
    size_t n = 0;
    if (text[0] == '\0' || strcmp(text, "scalar") == 0) return 0;
    for (const char *p = text;;) {
        char *end;
        long long d = strtoll(p, &end, 10);
        if (end == p || d < 0 || n == max_dims) die("bad shape: ", text);
        dims[n++] = d;
        if (*end == '\0') return n;
        if (*end != ',' && *end != 'x') die("bad shape: ", text);
        p = end + 1;
    }
}

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* The input element types this program reads: size in bytes and a name (NULL: unsupported). */
static size_t type_size(int type, const char **name) {
    switch (type) {
    case ONNX_FLOAT: *name = "float32"; return 4;
    case ONNX_DOUBLE: *name = "float64"; return 8;
    case ONNX_FLOAT16: *name = "float16"; return 2;
    case ONNX_INT64: *name = "int64"; return 8;
    case ONNX_INT32: *name = "int32"; return 4;
    case ONNX_INT8: *name = "int8"; return 1;
    case ONNX_UINT8: *name = "uint8"; return 1;
    case ONNX_BOOL: *name = "bool"; return 1;
    default: *name = NULL; return 0;
    }
}

/* Read exactly `count` little-endian values of `size` bytes each from `path`. */
static void *read_values(const char *path, size_t count, size_t size, const char *type_name) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open input file ", path);
    uint8_t *data = xmalloc(count * size);
    size_t got = fread(data, size, count, f);
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (got != count || extra) {
        fprintf(stderr, "serve: %s holds %s values than its shape needs (%zu %s)\n",
                path, got != count ? "fewer" : "more", count, type_name);
        exit(1);
    }
    if (!host_is_little_endian()) {   /* the file format is little-endian on every host */
        for (size_t i = 0; i < count * size; i += size)
            for (size_t a = i, b = i + size - 1; a < b; a++, b--) {
                uint8_t t = data[a]; data[a] = data[b]; data[b] = t;
            }
    }
    return data;
}

/* The element type the session declares for the input `name`; exits naming the inputs when
 * the model has none of that name (Run's own message would not list them). */
static int input_type(OrtSession *session, OrtAllocator *alloc, const char *name) {
    size_t n;
    int type = -1;
    ORT(SessionGetInputCount, session, &n);
    for (size_t i = 0; i < n && type < 0; i++) {
        char *have;
        ORT(SessionGetInputName, session, i, alloc, &have);
        if (strcmp(have, name) == 0) {
            OrtTypeInfo *info;
            const OrtTensorTypeAndShapeInfo *tensor;   /* owned by info */
            ORT(SessionGetInputTypeInfo, session, i, &info);
            ORT(CastTypeInfoToTensorInfo, info, &tensor);
            if (!tensor) die("input is not a tensor (sequences and maps are not read): ", name);
            ORT(GetTensorElementType, tensor, &type);
            g_ort->ReleaseTypeInfo(info);
        }
        ORT(AllocatorFree, alloc, have);
    }
    if (type >= 0) return type;
    fprintf(stderr, "serve: the model has no input named '%s'; its inputs are:", name);
    for (size_t i = 0; i < n; i++) {
        char *have;
        ORT(SessionGetInputName, session, i, alloc, &have);
        fprintf(stderr, " %s", have);
        ORT(AllocatorFree, alloc, have);
    }
    fprintf(stderr, "\n");
    exit(1);
}

static void print_value(const void *data, size_t i, int type) {
    switch (type) {
    case ONNX_FLOAT: printf("%.9g\n", (double)((const float *)data)[i]); break;
    case ONNX_DOUBLE: printf("%.17g\n", ((const double *)data)[i]); break;
    case ONNX_INT64: printf("%lld\n", (long long)((const int64_t *)data)[i]); break;
    case ONNX_INT32: printf("%d\n", (int)((const int32_t *)data)[i]); break;
    case ONNX_INT8: printf("%d\n", (int)((const int8_t *)data)[i]); break;
    case ONNX_UINT8: case ONNX_BOOL: printf("%u\n", (unsigned)((const uint8_t *)data)[i]); break;
    default: die("unsupported output element type", NULL);
    }
}

/* Print one output tensor: its header line, then its values in C order. */
static void print_output(size_t index, const char *name, OrtValue *value) {
    OrtTensorTypeAndShapeInfo *info;
    size_t ndim, count;
    int type;
    void *data;
    ORT(GetTensorTypeAndShape, value, &info);
    ORT(GetTensorElementType, info, &type);
    ORT(GetDimensionsCount, info, &ndim);
    int64_t *dims = xmalloc(ndim * sizeof(int64_t));
    ORT(GetDimensions, info, dims, ndim);
    ORT(GetTensorShapeElementCount, info, &count);
    g_ort->ReleaseTensorTypeAndShapeInfo(info);

    printf("# output %zu name=%s shape=", index, name);
    for (size_t d = 0; d < ndim; d++) printf("%s%lld", d ? "," : "", (long long)dims[d]);
    printf("\n");
    free(dims);
    ORT(GetTensorMutableData, value, &data);
    for (size_t i = 0; i < count; i++) print_value(data, i, type);
}

/* ---- main --------------------------------------------------------------------------------- */
enum { MAX_DIMS = 16 };

int main(int argc, char **argv) {
    if (argc < 5 || (argc - 2) % 3 != 0) {
        fprintf(stderr, "usage: %s MODEL.onnx NAME SHAPE FILE [NAME SHAPE FILE ...]\n"
                        "  SHAPE: comma-separated dims, e.g. 2,1,6,6\n"
                        "  FILE: raw little-endian values in C order, of the input's element\n"
                        "        type (float32/64, float16, int64, int32, int8, uint8, bool)\n",
                argv[0]);
        return 2;
    }
    g_ort = OrtGetApiBase()->GetApi(ORT_API_VERSION);
    if (!g_ort) {
        fprintf(stderr, "serve: onnxruntime %s does not provide C API version %d\n",
                OrtGetApiBase()->GetVersionString(), ORT_API_VERSION);
        return 1;
    }

    OrtEnv *env;
    OrtSessionOptions *options;
    OrtSession *session;
    ORT(CreateEnv, ORT_LOGGING_LEVEL_WARNING, "kiln-serve", &env);
    ORT(CreateSessionOptions, &options);
    const char *threads = getenv("SERVE_THREADS");   /* 0 (default): one per core */
    if (threads) ORT(SetIntraOpNumThreads, options, atoi(threads));
    ORT(CreateSession, env, argv[1], options, &session);

    /* Inputs: wrap each file's buffer, read as the input's declared element type (float32
     * images, int64 token ids, bool masks...), in a tensor without copying it. */
    OrtAllocator *alloc;
    ORT(GetAllocatorWithDefaultOptions, &alloc);
    size_t n_in = (size_t)(argc - 2) / 3;
    const char **in_names = xmalloc(n_in * sizeof(char *));
    OrtValue **inputs = xmalloc(n_in * sizeof(OrtValue *));
    void **buffers = xmalloc(n_in * sizeof(void *));
    OrtMemoryInfo *cpu;
    ORT(CreateCpuMemoryInfo, OrtArenaAllocator, OrtMemTypeDefault, &cpu);
    for (size_t k = 0; k < n_in; k++) {
        int64_t dims[MAX_DIMS];
        size_t ndim = parse_shape(argv[3 + 3 * k], dims, MAX_DIMS), count = 1;
        for (size_t d = 0; d < ndim; d++) count *= (size_t)dims[d];
        in_names[k] = argv[2 + 3 * k];
        const char *type_name;
        int type = input_type(session, alloc, in_names[k]);
        size_t size = type_size(type, &type_name);
        if (!size) {
            fprintf(stderr, "serve: input '%s' has ONNX element type %d, which this program "
                            "does not read\n", in_names[k], type);
            return 1;
        }
        buffers[k] = read_values(argv[4 + 3 * k], count, size, type_name);
        inputs[k] = NULL;
        ORT(CreateTensorWithDataAsOrtValue, cpu, buffers[k], count * size, dims, ndim, type,
            &inputs[k]);
    }

    /* Outputs: ask the session for every output by name; Run allocates them. */
    size_t n_out;
    ORT(SessionGetOutputCount, session, &n_out);
    char **out_names = xmalloc(n_out * sizeof(char *));
    OrtValue **outputs = xmalloc(n_out * sizeof(OrtValue *));
    for (size_t j = 0; j < n_out; j++) {
        ORT(SessionGetOutputName, session, j, alloc, &out_names[j]);
        outputs[j] = NULL;
    }
    ORT(Run, session, NULL, in_names, (const OrtValue *const *)inputs, n_in,
        (const char *const *)out_names, n_out, outputs);

    for (size_t j = 0; j < n_out; j++) {
        print_output(j, out_names[j], outputs[j]);
        g_ort->ReleaseValue(outputs[j]);
        ORT(AllocatorFree, alloc, out_names[j]);
    }
    for (size_t k = 0; k < n_in; k++) {
        g_ort->ReleaseValue(inputs[k]);
        free(buffers[k]);
    }
    free(out_names); free(outputs); free(in_names); free(inputs); free(buffers);
    g_ort->ReleaseMemoryInfo(cpu);
    g_ort->ReleaseSession(session);
    g_ort->ReleaseSessionOptions(options);
    g_ort->ReleaseEnv(env);
    return fflush(stdout) == 0 ? 0 : 1;
}
