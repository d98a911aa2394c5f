/* fuzz_errshape_corpus.c — replays the inputs of fuzz/fuzz_errshape.c through the
 * driver's checks without libFuzzer, so the normal build and `make test` run
 * them (spec/fuzz_corpus_spec.lua calls it with fuzz/corpus/errshape).
 *   build/tests/fuzz_errshape_corpus FILE_OR_DIR...   -> "N inputs ok", exit 0 */
#include "../../fuzz/fuzz_errshape.c"
#include "../../fuzz/replay.h"
