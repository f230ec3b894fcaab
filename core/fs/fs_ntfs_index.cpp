// NTFS $I30 directory index traversal and lookup (see fs_ntfs_index.hpp).
#include "core/fs/fs_ntfs_index.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/fs/fs_ntfs_data.hpp"
#include "core/fs/fs_ntfs_layout.hpp"

#include <fmt/format.h>

namespace vssimg::ntfs {

namespace {

constexpr size_t k_fn_parent = 0x00;
constexpr size_t k_fn_attributes = 0x38;
constexpr size_t k_fn_name_length = 0x40;
constexpr size_t k_fn_namespace = 0x41;
constexpr size_t k_fn_name = 0x42;

constexpr size_t k_root_block_size = 0x08;  // u32
constexpr size_t k_root_header = 0x10;      // the index header follows
constexpr size_t k_header_entries = 0x00;   // u32, from the header
constexpr size_t k_header_in_use = 0x04;    // u32, from the header
constexpr size_t k_header_size = 0x10;
constexpr size_t k_indx_vcn = 0x10;     // u64
constexpr size_t k_indx_header = 0x18;  // the index header follows

constexpr size_t k_entry_reference = 0x00;
constexpr size_t k_entry_length = 0x08;      // u16
constexpr size_t k_entry_key_length = 0x0A;  // u16
constexpr size_t k_entry_flags = 0x0C;       // u32
constexpr size_t k_entry_key = 0x10;
constexpr uint32_t k_entry_has_child = 0x01;
constexpr uint32_t k_entry_last = 0x02;

constexpr unsigned k_max_depth = 32;
constexpr uint32_t k_max_block_size = 64u << 10;
constexpr uint64_t k_max_bitmap = 16u << 20;

}  // namespace

FileName parse_file_name(const uint8_t* p, size_t len, const std::string& what) {
  if (len < k_fn_name) throw FsRejected(what + ": $FILE_NAME too short");
  FileName f;
  f.parent = get_u64(p + k_fn_parent);
  f.attributes = get_u32(p + k_fn_attributes);
  f.name_space = p[k_fn_namespace];
  const size_t units = p[k_fn_name_length];
  if (k_fn_name + 2 * units > len) throw FsRejected(what + ": $FILE_NAME name past its end");
  f.name = utf16le_units(p + k_fn_name, units);
  return f;
}

DirectoryIndex::DirectoryIndex(Volume& volume, const MftFile& dir, const UpCase& upcase)
    : m_volume(volume), m_upcase(upcase), m_what(record_name(dir.number) + " $I30 index") {
  const uint64_t cs = volume.geometry().cluster_size;
  std::optional<Stream> root = find_stream(dir, k_attr_index_root, "$I30", cs);
  if (!root || !root->resident || root->value.size() < k_root_header + k_header_size)
    throw FsRejected(m_what + ": no resident $INDEX_ROOT");
  m_block_size = get_u32(root->value.data() + k_root_block_size);
  m_root = parse_node(root->value.data() + k_root_header, root->value.size() - k_root_header,
                      m_what + " root");
  m_allocation = find_stream(dir, k_attr_index_allocation, "$I30", cs);
  if (!m_allocation) return;
  if (m_allocation->resident || !is_power_of_two(m_block_size) || m_block_size < k_fixup_stride ||
      m_block_size > k_max_block_size) {
    throw FsRejected(fmt::format("{}: index block size {} invalid", m_what, m_block_size));
  }
  m_vcn_shift = 0;
  for (uint64_t unit = m_block_size >= cs ? cs : 512; unit > 1; unit >>= 1) ++m_vcn_shift;
  std::optional<Stream> bitmap = find_stream(dir, k_attr_bitmap, "$I30", cs);
  if (!bitmap || bitmap->data_size > k_max_bitmap) throw FsRejected(m_what + ": no usable $BITMAP");
  m_bitmap.assign(static_cast<size_t>(bitmap->data_size), 0);
  read_stream(
      volume, *bitmap,
      [&](uint64_t off, const uint8_t* d, size_t n) {
        std::copy(d, d + n, m_bitmap.begin() + off);
      },
      m_what + " $BITMAP");
}

DirectoryIndex::Node DirectoryIndex::parse_node(const uint8_t* header, size_t len,
                                                const std::string& what) const {
  const size_t first = get_u32(header + k_header_entries);
  const size_t in_use = get_u32(header + k_header_in_use);
  if (first < k_header_size || in_use > len || first > in_use)
    throw FsRejected(what + ": index header sizes out of range");
  Node node;
  for (size_t off = first;;) {
    const uint8_t* e = header + off;
    if (off + k_entry_key > in_use) throw FsRejected(what + ": entries run past the node");
    const size_t length = get_u16(e + k_entry_length);
    const size_t key_length = get_u16(e + k_entry_key_length);
    const uint32_t flags = get_u32(e + k_entry_flags);
    const size_t child = flags & k_entry_has_child ? 8 : 0;
    if (length % 8 != 0 || length < k_entry_key + child || length > in_use - off ||
        (!(flags & k_entry_last) && k_entry_key + key_length + child > length)) {
      throw FsRejected(fmt::format("{}: entry at {} has bad length {}", what, off, length));
    }
    Node::Item item;
    item.has_child = child != 0;
    if (item.has_child) item.child_vcn = get_u64(e + length - 8);
    if (!(flags & k_entry_last)) {
      item.has_key = true;
      item.entry.reference = get_u64(e + k_entry_reference);
      item.entry.key = parse_file_name(e + k_entry_key, key_length, what);
    }
    node.items.push_back(std::move(item));
    if (flags & k_entry_last) return node;
    off += length;
  }
}

DirectoryIndex::Node DirectoryIndex::read_block(uint64_t vcn) {
  const std::string what = fmt::format("{} block at VCN {}", m_what, vcn);
  if (!m_allocation) throw FsRejected(what + ": the directory has no $INDEX_ALLOCATION");
  if (vcn > (m_allocation->data_size >> m_vcn_shift)) throw FsRejected(what + ": past its end");
  const uint64_t offset = vcn << m_vcn_shift;
  const uint64_t index = offset / m_block_size;
  if (offset % m_block_size != 0 || offset + m_block_size > m_allocation->data_size ||
      index / 8 >= m_bitmap.size() || !(m_bitmap[index / 8] & (1u << (index % 8)))) {
    throw FsRejected(what + ": not a block in use ($BITMAP)");
  }
  std::vector<uint8_t> block =
      m_volume.read_attribute_bytes(m_allocation->runs, offset, m_block_size, what);
  apply_fixups(block, "INDX", what);
  if (get_u64(block.data() + k_indx_vcn) != vcn) throw FsRejected(what + ": holds another VCN");
  return parse_node(block.data() + k_indx_header, block.size() - k_indx_header, what);
}

void DirectoryIndex::walk(const Node& node, unsigned depth, std::set<uint64_t>& seen,
                          const std::function<void(const IndexEntry&)>& fn) {
  if (depth > k_max_depth) throw FsRejected(m_what + ": nested too deep");
  for (const Node::Item& item : node.items) {
    if (item.has_child) {
      if (!seen.insert(item.child_vcn).second)
        throw FsRejected(fmt::format("{}: block at VCN {} reached twice", m_what, item.child_vcn));
      check_interrupted();
      walk(read_block(item.child_vcn), depth + 1, seen, fn);
    }
    if (item.has_key) fn(item.entry);
  }
}

void DirectoryIndex::for_each(const std::function<void(const IndexEntry&)>& fn) {
  std::set<uint64_t> seen;
  walk(m_root, 0, seen, fn);
}

std::optional<IndexEntry> DirectoryIndex::find(const std::u16string& name) {
  std::optional<IndexEntry> folded;
  std::set<uint64_t> seen;
  Node node = m_root;
  for (unsigned depth = 0; depth <= k_max_depth; ++depth) {
    const Node::Item* descend = nullptr;
    for (const Node::Item& item : node.items) {
      if (!item.has_key) {
        descend = &item;
        break;
      }
      const std::u16string& key = item.entry.key.name;
      const int cmp = m_upcase.compare(name, key.data(), key.size());
      if (cmp == 0 && key == name) return item.entry;
      if (cmp == 0 && !folded) folded = item.entry;
      if (cmp < 0) {
        descend = &item;
        break;
      }
    }
    if (folded || !descend || !descend->has_child) return folded;
    if (!seen.insert(descend->child_vcn).second) throw FsRejected(m_what + ": index loops");
    node = read_block(descend->child_vcn);
  }
  throw FsRejected(m_what + ": nested too deep");
}

}  // namespace vssimg::ntfs
