#include "library_identity.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>

#include <cstddef>
#include <cstring>

namespace xlp {
namespace {

// "4.17..." at `s`: major and minor, each 1-5 digits, separated by a dot.
std::optional<uint32_t> ParseRelease(const std::string& s, std::size_t at) {
  uint32_t part[2] = {0, 0};
  std::size_t i = at;
  for (int k = 0; k < 2; ++k) {
    const std::size_t begin = i;
    while (i < s.size() && i - begin < 5 && s[i] >= '0' && s[i] <= '9') {
      part[k] = part[k] * 10 + static_cast<uint32_t>(s[i] - '0');
      ++i;
    }
    if (i == begin || (i < s.size() && s[i] >= '0' && s[i] <= '9')) return std::nullopt;
    if (k == 0) {
      if (i >= s.size() || s[i] != '.') return std::nullopt;
      ++i;
    }
  }
  // What follows the minor, if anything, is another dotted part ("4.17.0", "so.4.17.1").
  if (i < s.size() && s[i] != '.') return std::nullopt;
  if (part[0] > 0xffff || part[1] > 0xffff) return std::nullopt;
  return (part[0] << 16) | part[1];
}

bool StartsWith(const std::string& s, const char* prefix) {
  return s.compare(0, std::strlen(prefix), prefix) == 0;
}

// The tables of the object's dynamic section we need. glibc relocates the address entries of a
// writable dynamic section in place at load time and leaves a read-only one (some
// architectures, some linkers) at link-time values; an address is taken as whichever reading
// lies inside the object's own mapping.
struct Tables {
  const char* strtab = nullptr;
  std::size_t strsz = 0;
  const ElfW(Sym)* symtab = nullptr;
  const ElfW(Half)* versym = nullptr;
  const ElfW(Verdef)* verdef = nullptr;
  std::size_t verdefnum = 0;
  std::optional<std::size_t> soname;  // offset into strtab
};

const void* Inside(ElfW(Addr) value, ElfW(Addr) load_bias, const void* base) {
  for (ElfW(Addr) candidate : {value, value + load_bias}) {
    Dl_info info{};
    if (candidate != 0 && dladdr(reinterpret_cast<void*>(candidate), &info) != 0 &&
        info.dli_fbase == base) {
      return reinterpret_cast<const void*>(candidate);
    }
  }
  return nullptr;
}

// Far more entries than any dynamic section has; only guards a missing DT_NULL.
constexpr int kMaxDynamicEntries = 4096;

bool ReadTables(void* dl_handle, const void* base, Tables* t) {
  struct link_map* map = nullptr;
  if (dlinfo(dl_handle, RTLD_DI_LINKMAP, &map) != 0 || map == nullptr || map->l_ld == nullptr) {
    return false;
  }
  const ElfW(Addr) bias = map->l_addr;
  ElfW(Addr) strtab = 0, symtab = 0, versym = 0, verdef = 0;
  for (int i = 0; i < kMaxDynamicEntries && map->l_ld[i].d_tag != DT_NULL; ++i) {
    const ElfW(Dyn)& d = map->l_ld[i];
    switch (d.d_tag) {
      case DT_STRTAB:
        strtab = d.d_un.d_ptr;
        break;
      case DT_STRSZ:
        t->strsz = d.d_un.d_val;
        break;
      case DT_SYMTAB:
        symtab = d.d_un.d_ptr;
        break;
      case DT_VERSYM:
        versym = d.d_un.d_ptr;
        break;
      case DT_VERDEF:
        verdef = d.d_un.d_ptr;
        break;
      case DT_VERDEFNUM:
        t->verdefnum = d.d_un.d_val;
        break;
      case DT_SONAME:
        t->soname = d.d_un.d_val;
        break;
    }
  }
  t->strtab = static_cast<const char*>(Inside(strtab, bias, base));
  if (t->strtab == nullptr || t->strsz == 0) return false;
  t->symtab = static_cast<const ElfW(Sym)*>(Inside(symtab, bias, base));
  t->versym = static_cast<const ElfW(Half)*>(Inside(versym, bias, base));
  t->verdef = static_cast<const ElfW(Verdef)*>(Inside(verdef, bias, base));
  return true;
}

// The NUL-terminated string at `offset`, or empty if it does not end inside the table.
std::string StringAt(const Tables& t, std::size_t offset) {
  if (offset >= t.strsz) return {};
  const char* s = t.strtab + offset;
  const void* nul = std::memchr(s, '\0', t.strsz - offset);
  return nul != nullptr ? std::string(s, static_cast<const char*>(nul)) : std::string();
}

// Far more version definitions than any library has (libxenctrl has two: the file and one node).
constexpr std::size_t kMaxVerdefs = 1024;

std::string VersionOf(const Tables& t, const void* symbol) {
  if (t.symtab == nullptr || t.versym == nullptr || t.verdef == nullptr) return {};
  Dl_info info{};
  void* entry = nullptr;
  if (dladdr1(symbol, &info, &entry, RTLD_DL_SYMENT) == 0 || entry == nullptr) return {};
  const auto* sym = static_cast<const ElfW(Sym)*>(entry);
  if (sym < t.symtab) return {};
  const std::size_t index = static_cast<std::size_t>(sym - t.symtab);
  const ElfW(Half) ndx = t.versym[index] & 0x7fff;
  if (ndx <= 1) return {};  // local or unversioned global
  const auto* vd = reinterpret_cast<const unsigned char*>(t.verdef);
  for (std::size_t i = 0; i < t.verdefnum && i < kMaxVerdefs; ++i) {
    ElfW(Verdef) def;
    std::memcpy(&def, vd, sizeof def);
    if (def.vd_ndx == ndx && def.vd_cnt > 0) {
      ElfW(Verdaux) aux;
      std::memcpy(&aux, vd + def.vd_aux, sizeof aux);
      return StringAt(t, aux.vda_name);
    }
    if (def.vd_next == 0) break;
    vd += def.vd_next;
  }
  return {};
}

}  // namespace

std::optional<uint32_t> ReleaseFromVersionNode(const std::string& node) {
  if (StartsWith(node, "VERS_")) return ParseRelease(node, 5);
  if (StartsWith(node, "libxenctrl_")) return ParseRelease(node, 11);
  return std::nullopt;
}

std::optional<uint32_t> ReleaseFromSoname(const std::string& soname) {
  return StartsWith(soname, "libxenctrl.so.") ? ParseRelease(soname, 14) : std::nullopt;
}

LibraryIdentity ReadLibraryIdentity(void* dl_handle, const void* upload_symbol) {
  LibraryIdentity id;
  Dl_info info{};
  if (dladdr(upload_symbol, &info) == 0 || info.dli_fbase == nullptr) return id;
  Tables t;
  if (!ReadTables(dl_handle, info.dli_fbase, &t)) return id;
  if (t.soname) id.soname = StringAt(t, *t.soname);
  id.upload_version = VersionOf(t, upload_symbol);
  id.release = ReleaseFromVersionNode(id.upload_version);
  if (!id.release) id.release = ReleaseFromSoname(id.soname);
  return id;
}

}  // namespace xlp
