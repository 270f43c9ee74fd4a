// torch.save state-dict reader: the zip records through caffe2's PyTorchStreamReader, data.pkl through a pickle VM
// that knows the opcodes of protocols 2-4 torch.save emits and builds tensors for torch._utils._rebuild_tensor_v2.
// (LibTorch's own torch::pickle_load turns a collections.OrderedDict into None, so it cannot read state dicts.)
#include "common/clip/torch_pickle.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <utility>
#include <vector>

#include "common/util/error.h"

namespace kd {
namespace {

struct Obj;
using ObjPtr = std::shared_ptr<Obj>;

// One pickled value. `kOpaque` stands for an object kd does not need (its contents are dropped).
struct Obj {
  enum Kind { kNone, kBool, kInt, kFloat, kString, kTuple, kList, kDict, kGlobal, kStorage, kTensor, kOpaque };
  Kind kind = kNone;
  int64_t i = 0;
  double f = 0;
  std::string s;                                   // string, global "module.name", storage key
  std::vector<ObjPtr> items;                       // tuple, list
  std::vector<std::pair<ObjPtr, ObjPtr>> entries;  // dict, in insertion order
  at::ScalarType dtype = at::kFloat;               // storage
  at::Tensor tensor;
};

ObjPtr make(Obj::Kind kind) {
  auto o = std::make_shared<Obj>();
  o->kind = kind;
  return o;
}

at::ScalarType storage_dtype(const std::string& global, const std::string& file) {
  static const std::pair<const char*, at::ScalarType> kTypes[] = {
      {"torch.FloatStorage", at::kFloat},   {"torch.HalfStorage", at::kHalf},   {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.DoubleStorage", at::kDouble}, {"torch.LongStorage", at::kLong},   {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort},   {"torch.CharStorage", at::kChar},   {"torch.ByteStorage", at::kByte},
      {"torch.BoolStorage", at::kBool}};
  for (const auto& [name, type] : kTypes)
    if (global == name) return type;
  throw Error("unsupported storage type in torch.save file").file(file).got(global);
}

class StateDictUnpickler {
 public:
  StateDictUnpickler(caffe2::serialize::PyTorchStreamReader& zip, std::string pickle, std::string file)
      : zip_(zip), p_(std::move(pickle)), file_(std::move(file)) {}

  ObjPtr run() {
    for (;;) {
      const uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;                              // PROTO
        case 0x95: bytes(8); break;                            // FRAME
        case '(': marks_.push_back(stack_.size()); break;      // MARK
        case ')': push(make(Obj::kTuple)); break;              // EMPTY_TUPLE
        case ']': push(make(Obj::kList)); break;               // EMPTY_LIST
        case '}': push(make(Obj::kDict)); break;               // EMPTY_DICT
        case 't': push(tuple(pop_to_mark())); break;           // TUPLE
        case 0x85: case 0x86: case 0x87: {                     // TUPLE1..3
          std::vector<ObjPtr> v(op - 0x84);
          for (size_t k = v.size(); k-- > 0;) v[k] = pop();
          push(tuple(std::move(v)));
          break;
        }
        case 'N': push(make(Obj::kNone)); break;
        case 0x88: case 0x89: { auto b = make(Obj::kBool); b->i = op == 0x88; push(b); break; }
        case 'K': push(integer(byte())); break;                // BININT1
        case 'M': push(integer(uint_le(2))); break;            // BININT2
        case 'J': push(integer(static_cast<int32_t>(uint_le(4)))); break;  // BININT
        case 0x8a: {                                           // LONG1
          const size_t n = byte();
          if (n > 8) fail("LONG1 wider than 64 bits");
          uint64_t v = uint_le(n);
          if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t(0) << (8 * n);  // sign-extend
          push(integer(static_cast<int64_t>(v)));
          break;
        }
        case 'G': {                                            // BINFLOAT, big-endian
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | byte();
          auto o = make(Obj::kFloat);
          std::memcpy(&o->f, &bits, 8);
          push(o);
          break;
        }
        case 'X': push(text(bytes(uint_le(4)))); break;      // BINUNICODE
        case 0x8c: push(text(bytes(byte()))); break;         // SHORT_BINUNICODE
        case 0x8d: push(text(bytes(uint_le(8)))); break;     // BINUNICODE8
        case 'c': {                                            // GLOBAL "module\nname\n"
          std::string module = line(), name = line();
          push(global(module + "." + name));
          break;
        }
        case 0x93: {                                           // STACK_GLOBAL
          ObjPtr name = pop(), module = pop();
          push(global(module->s + "." + name->s));
          break;
        }
        case 'q': memo_[byte()] = top(); break;                // BINPUT
        case 'r': memo_[uint_le(4)] = top(); break;            // LONG_BINPUT
        case 0x94: memo_[memo_.size()] = top(); break;         // MEMOIZE
        case 'h': push(memo(byte())); break;                   // BINGET
        case 'j': push(memo(uint_le(4))); break;               // LONG_BINGET
        case 'Q': push(persistent(pop())); break;              // BINPERSID
        case 'R': { ObjPtr args = pop(), fn = pop(); push(reduce(*fn, *args)); break; }
        case 'b': pop(); break;                                // BUILD: object state (e.g. _metadata) unused
        case 's': { ObjPtr v = pop(), k = pop(); set_items(top(), {k, v}); break; }
        case 'u': {                                            // SETITEMS
          std::vector<ObjPtr> kv = pop_to_mark();
          set_items(top(), kv);
          break;
        }
        case 'a': { ObjPtr v = pop(); top()->items.push_back(v); break; }  // APPEND
        case 'e': {                                            // APPENDS
          std::vector<ObjPtr> v = pop_to_mark();
          ObjPtr list = top();
          list->items.insert(list->items.end(), v.begin(), v.end());
          break;
        }
        case '.': return pop();                                // STOP
        default: fail("unsupported pickle opcode " + std::to_string(op));
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("cannot read this torch.save file's data.pkl").file(file_).got(what + " at byte " +
                                                                              std::to_string(pos_));
  }
  uint8_t byte() {
    if (pos_ >= p_.size()) fail("truncated pickle");
    return static_cast<uint8_t>(p_[pos_++]);
  }
  std::string bytes(uint64_t n) {
    if (n > p_.size() - pos_) fail("truncated pickle");
    std::string out = p_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  uint64_t uint_le(size_t n) {
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k) v |= uint64_t(byte()) << (8 * k);
    return v;
  }
  std::string line() {
    const size_t end = p_.find('\n', pos_);
    if (end == std::string::npos) fail("truncated GLOBAL");
    std::string out = p_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return out;
  }
  void push(ObjPtr o) { stack_.push_back(std::move(o)); }
  ObjPtr pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("pickle stack underflow");
    ObjPtr o = std::move(stack_.back());
    stack_.pop_back();
    return o;
  }
  ObjPtr top() {
    if (stack_.empty()) fail("pickle stack underflow");
    return stack_.back();
  }
  std::vector<ObjPtr> pop_to_mark() {
    if (marks_.empty()) fail("no MARK");
    std::vector<ObjPtr> v(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return v;
  }
  ObjPtr memo(uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) fail("memo key " + std::to_string(key) + " never stored");
    return it->second;
  }
  static ObjPtr tuple(std::vector<ObjPtr> v) {
    ObjPtr o = make(Obj::kTuple);
    o->items = std::move(v);
    return o;
  }
  static ObjPtr integer(int64_t v) {
    ObjPtr o = make(Obj::kInt);
    o->i = v;
    return o;
  }
  static ObjPtr text(std::string s) {
    ObjPtr o = make(Obj::kString);
    o->s = std::move(s);
    return o;
  }
  static ObjPtr global(std::string name) {
    ObjPtr o = make(Obj::kGlobal);
    o->s = std::move(name);
    return o;
  }
  void set_items(const ObjPtr& target, const std::vector<ObjPtr>& kv) {
    if (kv.size() % 2) fail("odd SETITEMS");
    if (target->kind != Obj::kDict) return;  // e.g. the entries of an opaque object
    for (size_t k = 0; k < kv.size(); k += 2) target->entries.emplace_back(kv[k], kv[k + 1]);
  }
  // ('storage', torch.XStorage, key, location, numel) -> the storage's record data/KEY.
  ObjPtr persistent(const ObjPtr& pid) {
    if (pid->kind != Obj::kTuple || pid->items.size() < 3 || pid->items[0]->s != "storage" ||
        pid->items[1]->kind != Obj::kGlobal || pid->items[2]->kind != Obj::kString)
      fail("persistent id is not a storage");
    ObjPtr o = make(Obj::kStorage);
    o->s = pid->items[2]->s;
    o->dtype = storage_dtype(pid->items[1]->s, file_);
    return o;
  }
  std::vector<int64_t> ints(const Obj& t) const {
    std::vector<int64_t> v;
    for (const ObjPtr& x : t.items) {
      if (x->kind != Obj::kInt) fail("tensor size/stride is not an int");
      v.push_back(x->i);
    }
    return v;
  }
  ObjPtr reduce(const Obj& fn, const Obj& args) {
    if (fn.kind != Obj::kGlobal) return make(Obj::kOpaque);
    if (fn.s == "collections.OrderedDict" || fn.s == "builtins.dict") return make(Obj::kDict);
    if (fn.s == "torch._utils._rebuild_parameter" && !args.items.empty() && args.items[0]->kind == Obj::kTensor)
      return args.items[0];
    if (fn.s != "torch._utils._rebuild_tensor_v2") return make(Obj::kOpaque);
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    if (args.items.size() < 4 || args.items[0]->kind != Obj::kStorage || args.items[1]->kind != Obj::kInt)
      fail("unexpected _rebuild_tensor_v2 arguments");
    const Obj& storage = *args.items[0];
    const at::Tensor flat = storage_tensor(storage);
    const std::vector<int64_t> size = ints(*args.items[2]), stride = ints(*args.items[3]);
    int64_t last = args.items[1]->i;  // the furthest element the view reads must lie inside the storage
    for (size_t d = 0; d < size.size(); ++d) last += size[d] > 0 ? (size[d] - 1) * stride[d] : 0;
    const bool empty = std::find(size.begin(), size.end(), 0) != size.end();
    if (!empty && last >= flat.numel()) fail("tensor view outside its storage data/" + storage.s);
    std::vector<int64_t> c_stride(size.size());  // C-order strides of `size`
    int64_t numel = 1;
    for (size_t d = size.size(); d-- > 0;) {
      c_stride[d] = numel;
      numel *= size[d];
    }
    ObjPtr o = make(Obj::kTensor);
    if (empty) o->tensor = at::empty(size, flat.options());
    else if (args.items[1]->i == 0 && numel == flat.numel() && stride == c_stride) o->tensor = flat.view(size);
    else o->tensor = flat.as_strided(size, stride, args.items[1]->i).clone();  // a view of a shared storage
    return o;
  }
  at::Tensor storage_tensor(const Obj& storage) {
    auto it = storages_.find(storage.s);
    if (it != storages_.end()) return it->second;
    const std::string record = "data/" + storage.s;
    if (!zip_.hasRecord(record)) fail("no record " + record + " in the archive");
    auto [data, nbytes] = zip_.getRecord(record);
    const int64_t elem = static_cast<int64_t>(at::elementSize(storage.dtype));
    at::Tensor flat = at::empty({static_cast<int64_t>(nbytes) / elem}, at::TensorOptions().dtype(storage.dtype));
    std::memcpy(flat.data_ptr(), data.get(), static_cast<size_t>(flat.numel() * elem));
    return storages_.emplace(storage.s, flat).first->second;
  }

  caffe2::serialize::PyTorchStreamReader& zip_;
  std::string p_;
  std::string file_;
  size_t pos_ = 0;
  std::vector<ObjPtr> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, ObjPtr> memo_;
  std::map<std::string, at::Tensor> storages_;  // storage key -> its elements, [numel] of the storage's dtype
};

}  // namespace

std::map<std::string, at::Tensor> read_torch_state_dict(const std::filesystem::path& path) {
  const std::string file = path.string();
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot open file").file(file);
    char magic[4] = {};
    in.read(magic, 4);
    if (in.gcount() != 4 || std::memcmp(magic, "PK\x03\x04", 4) != 0)
      throw Error("not a zip-format torch.save file").file(file)
          .hint("kd reads torch.save's zip format (the default since PyTorch 1.6), not the legacy pickle format: "
                "re-save it with torch.save, or convert it to safetensors");
  }
  std::map<std::string, at::Tensor> out;
  try {
    caffe2::serialize::PyTorchStreamReader zip(file);
    auto [data, n] = zip.getRecord("data.pkl");
    StateDictUnpickler unpickler(zip, std::string(static_cast<const char*>(data.get()), n), file);
    const ObjPtr root = unpickler.run();
    if (root->kind != Obj::kDict) throw Error("torch.save file does not hold a dict").file(file);
    for (const auto& [k, v] : root->entries)
      if (k->kind == Obj::kString && v->kind == Obj::kTensor) out[k->s] = v->tensor;
  } catch (const c10::Error& e) {
    throw Error("cannot read the torch.save zip archive").file(file)
        .got(std::string(e.what_without_backtrace()).substr(0, 300));
  }
  if (out.empty()) throw Error("no tensors found in the torch.save file").file(file);
  return out;
}

}  // namespace kd
