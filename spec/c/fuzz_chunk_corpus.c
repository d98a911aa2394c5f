/* fuzz_chunk_corpus.c — replays the inputs of fuzz/fuzz_chunk.c through the
 * driver's checks without libFuzzer, so the normal build and `make test` run
 * them (spec/fuzz_corpus_spec.lua calls it with fuzz/corpus/chunk).
 *   build/tests/fuzz_chunk_corpus FILE_OR_DIR...   -> "N inputs ok", exit 0 */
#include "../../fuzz/fuzz_chunk.c"
#include "../../fuzz/replay.h"
