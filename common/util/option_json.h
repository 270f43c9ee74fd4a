// JSON out and in for any options struct described with visit_fields (option_fields.h): keys are the fields' keys,
// paths are strings, enums their canonical word (any accepted spelling is read back).
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "common/util/enum_names.h"
#include "common/util/error.h"
#include "common/util/option_fields.h"

namespace kd {
namespace option_json_detail {

struct Writer {
  nlohmann::json& j;
  template <class T>
  void operator()(const T& value, const OptionField& f) const {
    if (f.flags & kNotSaved) return;
    if constexpr (std::is_same_v<T, std::filesystem::path>) j[f.key] = value.string();
    else if constexpr (std::is_enum_v<T>) j[f.key] = enum_name(value);
    else j[f.key] = value;
  }
};

struct Reader {
  const nlohmann::json& j;
  const std::string& where;
  std::set<std::string>& seen;
  template <class T>
  void operator()(T& value, const OptionField& f) const {
    if (f.flags & kNotSaved) return;
    seen.insert(f.key);
    if (!j.contains(f.key)) return;  // written before the option existed: its default
    const nlohmann::json& v = j.at(f.key);
    try {
      if constexpr (std::is_same_v<T, std::filesystem::path>) value = v.get<std::string>();
      else if constexpr (std::is_enum_v<T>) value = parse_enum<T>(v.get<std::string>(), f.key);
      else value = v.get<T>();
    } catch (const nlohmann::json::exception& e) {
      throw Error("option has the wrong type").file(where).key(f.key).got(v.dump()).hint(e.what());
    } catch (Error& e) {
      throw e.file(where);
    }
  }
};

}  // namespace option_json_detail

// Every saved field of `options` under its key, added to `j`.
template <class Options>
void options_to_json(const Options& options, nlohmann::json& j) {
  visit_fields(options, option_json_detail::Writer{j});
}

// Reads the saved fields present in `j` into `options` (absent keys keep the struct's value). Keys that are neither
// fields nor in `other_keys` (format tags, retired options) are refused, naming `where` and the key.
template <class Options>
void options_from_json(const nlohmann::json& j, Options& options, const std::string& where,
                       const std::set<std::string>& other_keys) {
  if (!j.is_object()) throw Error("not a JSON object").file(where);
  std::set<std::string> seen;
  visit_fields(options, option_json_detail::Reader{j, where, seen});
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!seen.count(it.key()) && !other_keys.count(it.key()))
      throw Error("unknown option").file(where).key(it.key());
}

}  // namespace kd
