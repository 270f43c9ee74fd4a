// Options as data: an options struct is described once, by a function that shows each field to a visitor together
// with its name, help text and scope. The struct's member initialisers are the only defaults. Writers of JSON
// (option_json.h), readers of JSON and the command-line binding of the tools (tools/option_cli.h) all walk that one
// description, so a field is named, documented and defaulted in exactly one place.
//
//   template <class O, class V> void visit_fields(O& o, V&& v)   // O = Options or const Options
//     { v(o.lr, {"lr", "peak learning rate"}); v(o.quiet, {"quiet", "no progress", kNotSaved}); ... }
#pragma once

namespace kd {

// OptionField::flags.
enum OptionFlag : unsigned {
  kNotSaved = 1u << 0,    // command line only: not written to / read from JSON (--resume, --quiet)
  kNotOnCli = 1u << 1,    // JSON only
  kRequired = 1u << 2,    // the command line must give it
};

struct OptionField {
  const char* key;              // JSON key; the flag is --key, and --key-with-dashes when the key has underscores
  const char* help;             // --help text (the default is appended from the struct)
  unsigned flags = 0;           // OptionFlag bits
  unsigned scope = ~0u;         // tool-specific: which subcommands offer the option (kd-extract: ExtractKind bits)
  const char* names = nullptr;  // command-line names when they are not derived from `key` ("--val-cache,--bank")
};

}  // namespace kd
