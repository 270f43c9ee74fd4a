// The command-line side of options as data (common/util/option_fields.h): adds one CLI11 option per described
// field, with the field's help and the struct's value as the shown default. Flags are --key, plus --key-with-dashes
// when the key has underscores (the seed's spellings and kd's both work). Enums take any accepted spelling; list
// fields take values separated by spaces or commas (the seed's "[0, 1]" too). A bad value is a usage error.
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "common/util/enum_names.h"
#include "common/util/error.h"
#include "common/util/option_fields.h"

namespace kd {

// "0,1,2" -> {"0","1","2"}; "[0, 1]" -> {"0","1"}: the seed's `type=list` options, as typed in shells.
inline std::vector<std::string> split_cli_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    std::string item;
    for (char c : v + ",") {
      if (c == ',') {
        if (!item.empty()) out.push_back(item);
        item.clear();
      } else if (c != '[' && c != ']' && c != ' ' && c != '\'' && c != '"') {
        item += c;
      }
    }
  }
  return out;
}

// "--max_epochs,--max-epochs" for key "max_epochs".
inline std::string cli_names(const OptionField& f) {
  if (f.names) return f.names;
  std::string dashed = f.key;
  for (char& c : dashed)
    if (c == '_') c = '-';
  return dashed == f.key ? "--" + dashed : "--" + std::string(f.key) + ",--" + dashed;
}

template <class T>
struct is_optional_enum : std::false_type {};
template <class E>
struct is_optional_enum<std::optional<E>> : std::is_enum<E> {};

// Binds every field of `options` whose scope intersects `scope` to `app`. `options` must outlive parsing.
class CliBinder {
 public:
  explicit CliBinder(CLI::App& app, unsigned scope = ~0u) : app_(app), scope_(scope) {}

  template <class T>
  void operator()(T& value, const OptionField& f) {
    if ((f.flags & kNotOnCli) || !(f.scope & scope_)) return;
    const std::string names = cli_names(f);
    const size_t before = app_.get_options().size();
    add(value, f, names);
    if ((f.flags & kRequired) && app_.get_options().size() > before) app_.get_options().back()->required();
  }

 private:
  template <class T>
  void add(T& value, const OptionField& f, const std::string& names) {
    if constexpr (std::is_same_v<T, bool>) {
      app_.add_flag(names, value, f.help);
    } else if constexpr (std::is_enum_v<T>) {
      app_.add_option_function<std::string>(
              names, [&value, names](const std::string& s) { value = parse_or_usage_error<T>(s, names); },
              std::string(f.help) + " (" + enum_choices<T>() + ")")
          ->default_str(enum_name(value));
    } else if constexpr (is_optional_enum<T>::value) {
      using E = typename T::value_type;
      CLI::Option* o = app_.add_option_function<std::string>(
          names, [&value, names](const std::string& s) { value = parse_or_usage_error<E>(s, names); },
          std::string(f.help) + " (" + enum_choices<E>() + ")");
      if (value) o->default_str(enum_name(*value));
    } else if constexpr (std::is_same_v<T, std::vector<std::filesystem::path>>) {
      app_.add_option(names, value, f.help);  // paths may hold commas: one path per value
    } else if constexpr (std::is_same_v<T, std::filesystem::path>) {
      CLI::Option* o = app_.add_option_function<std::string>(
          names, [&value](const std::string& s) { value = s; }, f.help);
      if (!value.empty()) o->default_str(value.string());
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      add_list(value, f, names, [](const std::string& s, const std::string&) { return s; });
    } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
      add_list(value, f, names, [](const std::string& s, const std::string& key) {
        size_t used = 0;
        long long n = 0;
        try {
          n = std::stoll(s, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != s.size() || s.empty()) throw CLI::ValidationError(key, "not an integer: " + s);
        return static_cast<int64_t>(n);
      });
    } else if constexpr (std::is_same_v<T, std::vector<double>>) {
      add_list(value, f, names, [](const std::string& s, const std::string& key) {
        size_t used = 0;
        double d = 0;
        try {
          d = std::stod(s, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != s.size() || s.empty()) throw CLI::ValidationError(key, "not a number: " + s);
        return d;
      });
    } else {
      app_.add_option(names, value, f.help)->capture_default_str();
    }
  }

  template <class E>
  static E parse_or_usage_error(const std::string& s, const std::string& names) {
    try {
      return parse_enum<E>(s, names.substr(0, names.find(',')));
    } catch (const Error& e) {
      throw CLI::ValidationError(e.what());
    }
  }

  template <class T, class Parse>
  void add_list(std::vector<T>& value, const OptionField& f, const std::string& names, Parse parse) {
    std::string shown;
    for (const auto& x : value) {
      std::ostringstream s;
      s << x;
      shown += (shown.empty() ? "" : " ") + s.str();
    }
    const std::string key = names.substr(0, names.find(','));
    CLI::Option* o = app_.add_option_function<std::vector<std::string>>(
        names,
        [&value, parse, key](const std::vector<std::string>& given) {
          value.clear();
          for (const auto& s : split_cli_list(given)) value.push_back(parse(s, key));
        },
        f.help);
    if (!shown.empty()) o->default_str(shown);
  }

  CLI::App& app_;
  unsigned scope_;
};

// Adds the options of any struct with visit_fields.
template <class Options>
void bind_options(CLI::App& app, Options& options, unsigned scope = ~0u) {
  visit_fields(options, CliBinder(app, scope));
}

}  // namespace kd
