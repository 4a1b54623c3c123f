//===- hymir-generate.cpp - generate tokens with a compiled model ---------===//
//
//   hymir-generate ARTIFACT --weights W
//                  (--prompts FILE | --prompt IDS | --prompt-text TEXT)...
//                  [--tokenizer tokenizer.json]
//                  [--device cpu|cuda:N] [--max-new-tokens N]
//                  [--temperature T] [--top-k K] [--top-p P] [--seed S]
//                  [--stop ID,...] [--early-truncation N] [--slots N]
//                  [--stream-tokens] [--output FILE] [--progress-every S]
//                  [--stepper auto|cache|forward] [--logprobs model|host]
//                  [--cuda-graphs on|off]
//
// Loads an artifact of an imported model (hymir-import, hymir-compile) and
// its weights, and generates from prompts given as token ids or as text
// (tokenized by hymir/Runtime/Tokenizer.h from a tokenizer.json), serving them
// together over the model's sequence slots (continuous batching: a waiting
// prompt takes the slot a finished sequence frees). Writes one JSON line per
// finished sequence as it finishes, with --stream-tokens one per token too,
// and a progress line with tokens/s on stderr; with a tokenizer each
// finished line also carries the new tokens' text. The work is the C++ API of
// hymir/Runtime/Generate.h. A runtime-world tool: no LLVM or MLIR. Every
// failure exits non-zero with a one-line message (2 for a usage error).
//
//===----------------------------------------------------------------------===//

#include "../RuntimeToolArgs.h"
#include "../RuntimeToolProgress.h"

#include "hymir/Runtime/Generate.h"
#include "hymir/Runtime/Runtime.h"
#include "hymir/Runtime/Tokenizer.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace {

constexpr const char *kTool = "hymir-generate";

/// One --prompt (ids) or --prompt-text, in command-line order.
struct PromptArg {
  bool isText;
  std::string value;
};

struct Options {
  std::string artifact, weights, promptsFile, output, tokenizer;
  std::string device = "cpu";
  std::vector<PromptArg> prompts;
  hymir::GenerateOptions generate;
  bool streamTokens = false;
  double progressEvery = 1; // seconds between progress lines; < 0: none
  hymir::StepperKind stepper = hymir::StepperKind::Auto;
  std::optional<bool> cudaGraphs; // --cuda-graphs; default: on for cuda
};

void usage(std::FILE *to, bool full) {
  std::fprintf(
      to,
      "usage: hymir-generate ARTIFACT [--weights W]\n"
      "                      (--prompts FILE | --prompt IDS | --prompt-text "
      "TEXT)...\n"
      "                      [--tokenizer tokenizer.json]\n"
      "                      [--device cpu|cuda|cuda:N] [--max-new-tokens N]\n"
      "                      [--temperature T] [--top-k K] [--top-p P] "
      "[--seed S]\n"
      "                      [--stop ID[,ID..]] [--early-truncation N]\n"
      "                      [--slots N] [--stream-tokens] [--output FILE]\n"
      "                      [--progress-every S] [--stepper "
      "auto|cache|forward]\n");
  if (!full)
    return;
  std::fprintf(
      to,
      "\n"
      "Generates tokens from prompts of token ids or text with a model "
      "imported by\n"
      "hymir-import and compiled by hymir-compile. Flags take their value as\n"
      "--flag=value or --flag value.\n"
      "\n"
      "  --weights W         the checkpoint: a .safetensors file, its\n"
      "                      model.safetensors.index.json, or its folder\n"
      "  --prompts FILE      one prompt per line (blank lines skipped): a "
      "JSON\n"
      "                      array of token ids, an object whose "
      "\"tokens\"\n"
      "                      is one, or {\"text\": \"...\"} (tokenized); "
      "FILE -\n"
      "                      reads stdin\n"
      "  --prompt IDS        one prompt: ids separated by commas or spaces;\n"
      "                      repeatable, numbered after the file's prompts\n"
      "  --prompt-text TEXT  one prompt of UTF-8 text, tokenized as is (no\n"
      "                      chat template or BOS added; special tokens "
      "written\n"
      "                      in the text are their ids); repeatable, "
      "numbered\n"
      "                      with --prompt in command-line order\n"
      "  --tokenizer PATH    a Hugging Face tokenizer.json (byte-level BPE);\n"
      "                      default: tokenizer.json in the --weights folder "
      "or\n"
      "                      beside the --weights file, when there is one. "
      "Text\n"
      "                      prompts need it; when one is loaded each "
      "finished\n"
      "                      line gets \"text\", its new tokens decoded\n"
      "  --device DEV        cpu (default), cuda or cuda:N\n"
      "  --max-new-tokens N  at most N new tokens per sequence (default 256)\n"
      "  --temperature T     0 (default): greedy, the most probable token;\n"
      "                      above 0: sample from softmax(logits / T)\n"
      "  --top-k K           sample among the K most probable tokens (0: "
      "all)\n"
      "  --top-p P           sample among the fewest most probable tokens\n"
      "                      whose probability reaches P, in (0, 1] (1: all)\n"
      "  --seed S            random seed (default 0); the same seed, prompts\n"
      "                      and options give the same tokens, whatever the\n"
      "                      number of slots\n"
      "  --stop ID[,ID..]    stop tokens: a sequence ends after sampling one\n"
      "                      (it is kept as the last token); repeatable\n"
      "  --early-truncation N\n"
      "                      MiniMax-M1's early truncation: end a sequence "
      "once\n"
      "                      N consecutive tokens each had a probability "
      "above\n"
      "                      --early-truncation-probability (default 0.99);\n"
      "                      M1 used N = 3000 (default 0: off)\n"
      "  --early-truncation-probability P\n"
      "  --slots N           serve at most N sequences at once (default: the\n"
      "                      model's batch size, hymir-import --max-batch)\n"
      "  --stream-tokens     also write a JSON line per token as it is made\n"
      "  --output FILE       write the JSON lines to FILE (default stdout)\n"
      "  --progress-every S  a progress line on stderr every S seconds "
      "(default\n"
      "                      1; 0: every step; -1: none but the last)\n"
      "  --stepper KIND      how the model runs: cache (the prefill and "
      "decode\n"
      "                      entries over device-resident caches), forward\n"
      "                      (rerun 'forward' on each sequence's whole tokens\n"
      "                      per new token) or auto (default: cache when the\n"
      "                      artifact has prefill and decode, else forward)\n"
      "  --logprobs SRC      where each token's log-prob comes from: model\n"
      "                      (default: the artifact's 'logprobs' entry, the\n"
      "                      head kernel 'score' runs, where the cache\n"
      "                      stepper has it) or host (a log-softmax of the\n"
      "                      logits, one head pass less per step)\n"
      "  --cuda-graphs on|off\n"
      "                      run the decode step as a CUDA graph, captured "
      "once\n"
      "                      and replayed per token (default: on for cuda, "
      "off\n"
      "                      for cpu, where it is not used and a note says "
      "so);\n"
      "                      when capture is impossible the steps launch one "
      "by\n"
      "                      one; a note on stderr says whether graphs were "
      "used\n"
      "  -h, --help          this text\n"
      "  --version           hymir's version and the artifact schema version\n"
      "\n"
      "Output, one JSON object per line, in the order sequences finish:\n"
      "  {\"index\": I, \"prompt_tokens\": N, \"tokens\": [...], \"logprobs\": "
      "[...],\n"
      "   \"finish_reason\": \"stop\"|\"length\"|\"truncated\", "
      "\"text\": \"...\"}\n"
      "index: the prompt's number from 0; logprobs: the model's log-\n"
      "probability of each new token (log-softmax of the f32 logits, in\n"
      "double, whatever the temperature, top-k or top-p); length: the\n"
      "maximum of new tokens, or the model's context, was reached; text:\n"
      "only with a tokenizer, the new tokens decoded with special tokens\n"
      "kept (a stop token's text included), invalid UTF-8 as U+FFFD (if\n"
      "an id is outside the tokenizer, \"text_error\" says so instead). With\n"
      "--stream-tokens, before them: {\"index\": I, \"position\": P, "
      "\"token\": T,\n"
      "\"logprob\": L}. A note on stderr says which entries run.\n"
      "\n"
      "Exit status: 0 when every prompt was served; 1 when anything goes\n"
      "wrong (a one-line message); 2 on a usage error.\n");
}

/// Parses an integer >= min (and within int64) into `out`; prints an error
/// naming the flag otherwise.
bool parseInt(const std::string &flag, const std::string &text, int64_t min,
              int64_t &out) {
  if (absl::SimpleAtoi(text, &out) && out >= min)
    return true;
  std::fprintf(stderr, "%s: %s must be an integer >= %lld, got '%s'\n", kTool,
               flag.c_str(), static_cast<long long>(min), text.c_str());
  return false;
}

bool parseDouble(const std::string &flag, const std::string &text,
                 double &out) {
  if (absl::SimpleAtod(text, &out) && std::isfinite(out))
    return true;
  std::fprintf(stderr, "%s: %s must be a finite number, got '%s'\n", kTool,
               flag.c_str(), text.c_str());
  return false;
}

/// Token ids separated by commas and/or spaces; an error naming `what`.
absl::StatusOr<std::vector<int32_t>> parseIds(const std::string &text,
                                              const std::string &what) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ',' || text[i] == ' ' || text[i] == '\t') {
      ++i;
      continue;
    }
    size_t end = text.find_first_of(", \t", i);
    std::string word = text.substr(i, end == std::string::npos ? end : end - i);
    int32_t id;
    if (!absl::SimpleAtoi(word, &id))
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": '", word, "' is not a token id (an integer)"));
    ids.push_back(id);
    i = end == std::string::npos ? text.size() : end;
  }
  return ids;
}

/// 0 when parsed, 1 after --help or --version (exit 0), 2 on a usage error.
int parse(int argc, char **argv, Options &o) {
  hymir::tools::Args args(kTool, argc, argv);
  hymir::GenerateOptions &g = o.generate;
  while (args.next()) {
    if (args.is("-h") || args.is("--help")) {
      usage(stdout, true);
      return 1;
    }
    if (args.is("--version")) {
      hymir::tools::printVersion(kTool);
      return 1;
    }
    std::string flag = args.arg(), v;
    std::string *text = args.is("--weights")     ? &o.weights
                        : args.is("--prompts")   ? &o.promptsFile
                        : args.is("--output")    ? &o.output
                        : args.is("--device")    ? &o.device
                        : args.is("--tokenizer") ? &o.tokenizer
                                                 : nullptr;
    if (text) {
      if (!args.value(*text))
        return 2;
      if (text->empty()) {
        std::fprintf(stderr, "%s: %s needs a non-empty value\n", kTool,
                     flag.c_str());
        return 2;
      }
    } else if (args.is("--cuda-graphs")) {
      if (!args.value(v))
        return 2;
      if (v != "on" && v != "off") {
        std::fprintf(stderr, "%s: --cuda-graphs must be on or off, got '%s'\n",
                     kTool, v.c_str());
        return 2;
      }
      o.cudaGraphs = v == "on";
    } else if (args.is("--logprobs")) {
      if (!args.value(v))
        return 2;
      if (v == "model" || v == "host") {
        g.modelLogprobs = v == "model";
      } else {
        std::fprintf(stderr, "%s: --logprobs must be model or host, got '%s'\n",
                     kTool, v.c_str());
        return 2;
      }
    } else if (args.is("--stepper")) {
      if (!args.value(v))
        return 2;
      if (v == "auto")
        o.stepper = hymir::StepperKind::Auto;
      else if (v == "cache")
        o.stepper = hymir::StepperKind::Cache;
      else if (v == "forward")
        o.stepper = hymir::StepperKind::Forward;
      else {
        std::fprintf(stderr,
                     "%s: --stepper must be auto, cache or forward, got '%s'\n",
                     kTool, v.c_str());
        return 2;
      }
    } else if (args.is("--prompt")) {
      if (!args.value(v))
        return 2;
      o.prompts.push_back({false, v});
    } else if (args.is("--prompt-text")) {
      if (!args.value(v))
        return 2;
      o.prompts.push_back({true, v});
    } else if (args.is("--stream-tokens")) {
      if (!args.noValue())
        return 2;
      o.streamTokens = true;
    } else if (args.is("--max-new-tokens")) {
      if (!args.value(v) || !parseInt(flag, v, 1, g.maxNewTokens))
        return 2;
    } else if (args.is("--top-k")) {
      if (!args.value(v) || !parseInt(flag, v, 0, g.sampling.topK))
        return 2;
    } else if (args.is("--slots")) {
      if (!args.value(v) || !parseInt(flag, v, 1, g.slots))
        return 2;
    } else if (args.is("--early-truncation")) {
      if (!args.value(v) || !parseInt(flag, v, 0, g.truncationRun))
        return 2;
    } else if (args.is("--seed")) {
      if (!args.value(v))
        return 2;
      if (!absl::SimpleAtoi(v, &g.sampling.seed)) {
        std::fprintf(stderr,
                     "%s: --seed must be an integer in [0, 2^64), got '%s'\n",
                     kTool, v.c_str());
        return 2;
      }
    } else if (args.is("--temperature") || args.is("--top-p") ||
               args.is("--early-truncation-probability") ||
               args.is("--progress-every")) {
      double *target = args.is("--temperature")      ? &g.sampling.temperature
                       : args.is("--top-p")          ? &g.sampling.topP
                       : args.is("--progress-every") ? &o.progressEvery
                                                     : &g.truncationProbability;
      if (!args.value(v) || !parseDouble(flag, v, *target))
        return 2;
    } else if (args.is("--stop")) {
      if (!args.value(v))
        return 2;
      absl::StatusOr<std::vector<int32_t>> ids = parseIds(v, "--stop");
      if (!ids.ok() || ids->empty()) {
        std::fprintf(stderr, "%s: %s\n", kTool,
                     ids.ok() ? "--stop needs at least one token id"
                              : std::string(ids.status().message()).c_str());
        return 2;
      }
      g.stopTokens.insert(g.stopTokens.end(), ids->begin(), ids->end());
    } else if (args.isFlag()) {
      return args.unknown();
    } else if (o.artifact.empty()) {
      o.artifact = args.arg();
    } else {
      std::fprintf(stderr,
                   "%s: unexpected argument %s (one artifact; "
                   "prompts come with --prompt, --prompt-text or --prompts)\n",
                   kTool, args.arg().c_str());
      return 2;
    }
  }
  if (o.artifact.empty()) {
    std::fprintf(stderr, "%s: the artifact is required (see %s --help)\n",
                 kTool, kTool);
    return 2;
  }
  if (o.promptsFile.empty() && o.prompts.empty()) {
    std::fprintf(stderr,
                 "%s: no prompts: give --prompts FILE, --prompt IDS or "
                 "--prompt-text TEXT (see %s --help)\n",
                 kTool, kTool);
    return 2;
  }
  // Every option but the stop tokens' range, before loading anything.
  if (absl::Status s = hymir::validateGenerateOptions(
          g, std::numeric_limits<int64_t>::max());
      !s.ok()) {
    std::fprintf(stderr, "%s: %s\n", kTool, std::string(s.message()).c_str());
    return 2;
  }
  return 0;
}

int fail(const absl::Status &s) {
  std::fprintf(stderr, "%s: %s\n", kTool, std::string(s.message()).c_str());
  return 1;
}

/// A prompt and where it came from, for messages.
struct Prompt {
  std::vector<int32_t> ids;
  std::string source;
};

/// The tokenizer of --tokenizer, or the tokenizer.json found beside the
/// weights; without one, text prompts are an error and the output has no
/// text.
struct TextSide {
  std::optional<hymir::Tokenizer> tokenizer;
  std::string lookedFor;  // what was looked for, when none was found
  absl::Status autoError; // why a tokenizer.json found beside the weights
                          // did not load
};

absl::StatusOr<TextSide> findTokenizer(const Options &o) {
  namespace fs = std::filesystem;
  TextSide side;
  if (!o.tokenizer.empty()) {
    absl::StatusOr<hymir::Tokenizer> tokenizer =
        hymir::Tokenizer::fromFile(o.tokenizer);
    if (!tokenizer.ok())
      return tokenizer.status();
    side.tokenizer = *std::move(tokenizer);
    return side;
  }
  if (o.weights.empty()) {
    side.lookedFor = "no --tokenizer given and no --weights to look beside";
    return side;
  }
  std::error_code ec;
  fs::path weights(o.weights);
  fs::path path =
      (fs::is_directory(weights, ec) ? weights : weights.parent_path()) /
      "tokenizer.json";
  if (!fs::exists(path, ec)) {
    side.lookedFor = absl::StrCat("no --tokenizer given and no ", path.string(),
                                  " beside the weights");
    return side;
  }
  absl::StatusOr<hymir::Tokenizer> tokenizer =
      hymir::Tokenizer::fromFile(path.string());
  if (tokenizer.ok())
    side.tokenizer = *std::move(tokenizer);
  else
    side.autoError = tokenizer.status();
  return side;
}

/// The ids of a text prompt; errors start with `where`.
absl::StatusOr<std::vector<int32_t>> encodeText(const TextSide &side,
                                                const std::string &text,
                                                const std::string &where) {
  if (!side.tokenizer) {
    if (!side.autoError.ok())
      return absl::Status(side.autoError.code(),
                          absl::StrCat(where, ": ", side.autoError.message()));
    return absl::FailedPreconditionError(absl::StrCat(
        where, ": a text prompt needs a tokenizer: ", side.lookedFor,
        " (give --tokenizer PATH)"));
  }
  absl::StatusOr<std::vector<int32_t>> ids = side.tokenizer->encode(text);
  if (!ids.ok())
    return absl::Status(ids.status().code(),
                        absl::StrCat(where, ": ", ids.status().message()));
  return ids;
}

/// The prompts of --prompts (one JSON value per non-blank line) and then
/// of each --prompt and --prompt-text, in command-line order.
absl::StatusOr<std::vector<Prompt>> readPrompts(const Options &o,
                                                const TextSide &side) {
  constexpr const char *kForms = "(a prompt is an array of token ids, "
                                 "{\"tokens\": [...]} or {\"text\": \"...\"})";
  std::vector<Prompt> prompts;
  if (!o.promptsFile.empty()) {
    std::ifstream file;
    std::istream *in = &std::cin;
    if (o.promptsFile != "-") {
      file.open(o.promptsFile);
      if (!file)
        return absl::NotFoundError(absl::StrCat("cannot read --prompts ",
                                                o.promptsFile, ": ",
                                                std::strerror(errno)));
      in = &file;
    }
    std::string line;
    for (int64_t number = 1; std::getline(*in, line); ++number) {
      if (line.find_first_not_of(" \t\r") == std::string::npos)
        continue;
      std::string where = absl::StrCat(
          o.promptsFile == "-" ? "stdin" : o.promptsFile, " line ", number);
      nlohmann::json value = nlohmann::json::parse(line, nullptr, false);
      if (value.is_discarded())
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": not JSON ", kForms));
      if (value.is_object() && value.contains("text")) {
        if (value.contains("tokens"))
          return absl::InvalidArgumentError(absl::StrCat(
              where, ": an object with both \"tokens\" and \"text\" ", kForms));
        if (!value["text"].is_string())
          return absl::InvalidArgumentError(
              absl::StrCat(where, ": \"text\" is ", value["text"].type_name(),
                           ", not a string"));
        absl::StatusOr<std::vector<int32_t>> ids =
            encodeText(side, value["text"].get<std::string>(), where);
        if (!ids.ok())
          return ids.status();
        prompts.push_back(Prompt{*std::move(ids), where});
        continue;
      }
      if (value.is_object()) {
        if (!value.contains("tokens"))
          return absl::InvalidArgumentError(absl::StrCat(
              where, ": an object without \"tokens\" or \"text\" ", kForms));
        value = value["tokens"];
      }
      if (!value.is_array())
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": not a prompt ", kForms, ", got ", value.type_name()));
      Prompt p{{}, where};
      for (size_t i = 0; i < value.size(); ++i) {
        const nlohmann::json &id = value[i];
        if (!id.is_number_integer() || id.get<int64_t>() < INT32_MIN ||
            id.get<int64_t>() > INT32_MAX)
          return absl::InvalidArgumentError(
              absl::StrCat(where, ": element ", i, " (", id.dump(),
                           ") is not a token id (a 32-bit integer)"));
        p.ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
      }
      prompts.push_back(std::move(p));
    }
    if (in->bad())
      return absl::InternalError(
          absl::StrCat("reading --prompts ", o.promptsFile, " failed"));
  }
  int64_t idPrompts = 0, textPrompts = 0;
  for (const PromptArg &arg : o.prompts) {
    std::string where = arg.isText
                            ? absl::StrCat("--prompt-text #", ++textPrompts)
                            : absl::StrCat("--prompt #", ++idPrompts);
    absl::StatusOr<std::vector<int32_t>> ids =
        arg.isText ? encodeText(side, arg.value, where)
                   : parseIds(arg.value, where);
    if (!ids.ok())
      return ids.status();
    prompts.push_back(Prompt{*std::move(ids), where});
  }
  if (prompts.empty())
    return absl::InvalidArgumentError(
        absl::StrCat("--prompts ", o.promptsFile, " holds no prompt"));
  return prompts;
}

/// Writes one JSON line and flushes it, so a reader sees it at once.
bool writeLine(std::FILE *out, const nlohmann::ordered_json &line) {
  std::string text = line.dump() + "\n";
  return std::fwrite(text.data(), 1, text.size(), out) == text.size() &&
         std::fflush(out) == 0;
}

void printProgress(const hymir::GenerateProgress &p, bool last) {
  double rate = p.seconds > 0 ? p.generatedTokens / p.seconds : 0;
  if (last)
    std::fprintf(stderr,
                 "%s: %lld sequences, %lld new tokens (%lld prompt tokens) in "
                 "%.2f s, %lld steps: %.1f tokens/s\n",
                 kTool, static_cast<long long>(p.finished),
                 static_cast<long long>(p.generatedTokens),
                 static_cast<long long>(p.promptTokens), p.seconds,
                 static_cast<long long>(p.steps), rate);
  else
    std::fprintf(stderr,
                 "%s: step %lld: %lld done, %lld running, %lld waiting; %lld "
                 "new tokens in %.1f s, %.1f tokens/s\n",
                 kTool, static_cast<long long>(p.steps),
                 static_cast<long long>(p.finished),
                 static_cast<long long>(p.running),
                 static_cast<long long>(p.waiting),
                 static_cast<long long>(p.generatedTokens), p.seconds, rate);
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  if (int r = parse(argc, argv, o); r != 0)
    return r == 1 ? 0 : 2;
  absl::StatusOr<TextSide> side = findTokenizer(o);
  if (!side.ok())
    return fail(side.status());
  absl::StatusOr<std::vector<Prompt>> prompts = readPrompts(o, *side);
  if (!prompts.ok())
    return fail(prompts.status());
  // Only id prompts: a tokenizer.json beside the weights that does not load
  // costs the text of the output, not the run.
  if (!side->autoError.ok())
    std::fprintf(stderr, "%s: note: no \"text\" in the output: %s\n", kTool,
                 std::string(side->autoError.message()).c_str());

  auto runtime = hymir::Runtime::create(o.device);
  if (!runtime.ok())
    return fail(runtime.status());
  auto module = (*runtime)->load(o.artifact);
  if (!module.ok())
    return fail(module.status());
  std::string note;
  hymir::StepperOptions stepperOptions;
  stepperOptions.cudaGraphs =
      o.cudaGraphs.value_or(o.device.rfind("cuda", 0) == 0);
  absl::StatusOr<std::unique_ptr<hymir::Stepper>> stepper =
      hymir::makeStepper(**module, &note, o.stepper, stepperOptions);
  if (!stepper.ok())
    return fail(stepper.status());
  hymir::Stepper &model = **stepper;
  std::fprintf(stderr, "%s: note: %s\n", kTool, note.c_str());
  std::fprintf(stderr, "%s: note: log-probs from %s\n", kTool,
               o.generate.modelLogprobs && model.hasTokenLogprobs()
                   ? "the 'logprobs' entry (the head kernel of 'score')"
                   : "a log-softmax of the logits on the host");

  // Prompts and options against the model, before reading the weights.
  for (const Prompt &p : *prompts)
    if (absl::Status s =
            hymir::validatePrompt(p.ids, model.vocabSize(), model.maxContext());
        !s.ok())
      return fail(
          absl::Status(s.code(), p.source + ": " + std::string(s.message())));
  if (absl::Status s =
          hymir::validateGenerateOptions(o.generate, model.vocabSize());
      !s.ok()) {
    std::fprintf(stderr, "%s: %s\n", kTool, std::string(s.message()).c_str());
    return 2;
  }
  if (o.generate.slots > model.slotCount()) {
    std::fprintf(stderr,
                 "%s: --slots %lld is more than the model's %lld sequence "
                 "slots (hymir-import --max-batch)\n",
                 kTool, static_cast<long long>(o.generate.slots),
                 static_cast<long long>(model.slotCount()));
    return 2;
  }

  if (!o.weights.empty()) {
    hymir::tools::Progress progress(kTool, "binding weights from " + o.weights);
    auto weights = hymir::ShardedSafetensors::open(o.weights);
    if (!weights.ok())
      return fail(weights.status());
    if (absl::Status s = (*module)->bindWeights(*weights); !s.ok())
      return fail(s);
  } else if (!(*module)->desc().params.empty()) {
    return fail(absl::FailedPreconditionError(
        absl::StrCat(o.artifact, " has ", (*module)->desc().params.size(),
                     " parameters: give the checkpoint with --weights")));
  }

  std::FILE *out = stdout;
  if (!o.output.empty()) {
    out = std::fopen(o.output.c_str(), "w");
    if (!out)
      return fail(absl::NotFoundError(absl::StrCat(
          "cannot write --output ", o.output, ": ", std::strerror(errno))));
  }
  bool written = true;
  hymir::GenerateCallbacks callbacks;
  if (o.streamTokens)
    callbacks.onToken = [&](int64_t index, int64_t position, int32_t token,
                            double logprob) {
      written &= writeLine(out, {{"index", index},
                                 {"position", position},
                                 {"token", token},
                                 {"logprob", logprob}});
    };
  std::vector<std::vector<int32_t>> ids;
  for (const Prompt &p : *prompts)
    ids.push_back(p.ids);
  callbacks.onFinish = [&](const hymir::Generation &g) {
    nlohmann::ordered_json line = {
        {"index", g.index},
        {"prompt_tokens", ids[g.index].size()},
        {"tokens", g.tokens},
        {"logprobs", g.logprobs},
        {"finish_reason", std::string(hymir::finishReasonName(g.finish))}};
    if (side->tokenizer) {
      // Special tokens kept: a stop token's text shows how it ended.
      absl::StatusOr<std::string> text =
          side->tokenizer->decode(g.tokens, /*skipSpecialTokens=*/false);
      if (text.ok())
        line["text"] = *text;
      else
        line["text_error"] = std::string(text.status().message());
    }
    written &= writeLine(out, line);
  };
  double nextReport = o.progressEvery;
  hymir::GenerateProgress last;
  callbacks.onStep = [&](const hymir::GenerateProgress &p) {
    last = p;
    if (o.progressEvery >= 0 && p.seconds >= nextReport &&
        (p.running > 0 || p.waiting > 0)) {
      printProgress(p, false);
      nextReport = p.seconds + o.progressEvery;
    }
  };
  absl::StatusOr<std::vector<hymir::Generation>> generations =
      hymir::generate(model, ids, o.generate, callbacks);
  std::fprintf(stderr, "%s: note: %s\n", kTool, model.cudaGraphsNote().c_str());
  if (out != stdout && std::fclose(out) != 0)
    written = false;
  if (!generations.ok())
    return fail(generations.status());
  if (!written)
    return fail(absl::InternalError(absl::StrCat(
        "writing to ", o.output.empty() ? "stdout" : o.output, " failed")));
  printProgress(last, true);
  return 0;
}
