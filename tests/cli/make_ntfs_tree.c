/* Test tool only (links libntfs-3g, GPL; never part of vssimg): fills an NTFS image made
 * by mkntfs with what ntfscp alone cannot make: directories, hard links, named streams,
 * sparse and LZNT1-compressed files, symlinks (reparse points) and EFS-flagged files.
 * Commands on stdin, one per line (paths absolute inside the volume, '/' separated):
 *   mkdir PATH            a directory
 *   cmkdir PATH           a directory whose new files are compressed
 *   file PATH SRC         a file holding the bytes of local file SRC; 4 KiB blocks of
 *                         zeros in SRC are not written, so they become sparse runs
 *   link PATH NEWPATH     a second name for a file
 *   stream PATH NAME SRC  a named data stream
 *   symlink PATH TARGET   a symbolic link reparse point to TARGET (an absolute path)
 *   interleave P1 P2 SRC  two files, both holding SRC, written 4 KiB to one then 4 KiB
 *                         to the other: each gets a run per 4 KiB (fragmented)
 *   rm PATH               deletes a file (to leave holes in the free space: the
 *                         next large file is fragmented)
 *   encrypt PATH          sets FILE_ATTRIBUTE_ENCRYPTED (no EFS data: enough for readers
 *                         that must refuse it)
 * Usage: make_ntfs_tree IMAGE < COMMANDS */
/* libntfs-3g's headers expect these from its own config.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/reparse.h>
#include <ntfs-3g/security.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static ntfs_volume *vol;

static void die(const char *what, const char *path) {
  fprintf(stderr, "make_ntfs_tree: %s %s failed\n", what, path);
  exit(1);
}

/* Opens the parent directory of PATH and returns the last component. */
static ntfs_inode *open_parent(const char *path, char **leaf) {
  char *copy = strdup(path);
  char *slash = strrchr(copy, '/');
  *leaf = strdup(slash + 1);
  *slash = 0;
  ntfs_inode *dir = ntfs_pathname_to_inode(vol, NULL, copy[0] ? copy : "/");
  if (!dir) die("opening parent of", path);
  free(copy);
  return dir;
}

static ntfs_inode *create(const char *path, mode_t type) {
  char *leaf;
  ntfs_inode *dir = open_parent(path, &leaf);
  ntfschar *uname = NULL;
  int len = ntfs_mbstoucs(leaf, &uname);
  if (len < 0) die("converting", path);
  ntfs_inode *ni = ntfs_create(dir, 0, uname, (u8)len, type);
  if (!ni) die("creating", path);
  ntfs_inode_close(dir);
  free(uname);
  free(leaf);
  return ni;
}

static void write_from(ntfs_inode *ni, ntfschar *sname, int slen, const char *src) {
  FILE *f = fopen(src, "rb");
  if (!f) die("reading", src);
  if (slen > 0 && ntfs_attr_add(ni, AT_DATA, sname, slen, NULL, 0)) die("adding stream", src);
  ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, slen > 0 ? sname : AT_UNNAMED, slen);
  if (!na) die("opening data of", src);
  static char buf[4096], zero[4096];
  s64 pos = 0;
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    if (n < sizeof buf || memcmp(buf, zero, n) != 0) {
      if (ntfs_attr_pwrite(na, pos, (s64)n, buf) != (s64)n) die("writing", src);
    }
    pos += (s64)n;
  }
  if (na->data_size < pos && ntfs_attr_truncate(na, pos)) die("truncating", src);
  ntfs_attr_close(na);
  fclose(f);
}

static void run(char *cmd, char *a, char *b, char *c) {
  if (!strcmp(cmd, "mkdir") || !strcmp(cmd, "cmkdir")) {
    ntfs_inode *ni = create(a, S_IFDIR);
    if (cmd[0] == 'c') {
      le32 attrib = cpu_to_le32(FILE_ATTR_COMPRESSED | FILE_ATTR_DIRECTORY);
      if (ntfs_set_ntfs_attrib(ni, (const char *)&attrib, sizeof attrib, 0)) die("compressing", a);
    }
    ntfs_inode_close(ni);
  } else if (!strcmp(cmd, "file")) {
    ntfs_inode *ni = create(a, S_IFREG);
    write_from(ni, NULL, 0, b);
    ntfs_inode_close(ni);
  } else if (!strcmp(cmd, "stream")) {
    ntfs_inode *ni = ntfs_pathname_to_inode(vol, NULL, a);
    if (!ni) die("opening", a);
    ntfschar *sname = NULL;
    int slen = ntfs_mbstoucs(b, &sname);
    write_from(ni, sname, slen, c);
    ntfs_inode_close(ni);
    free(sname);
  } else if (!strcmp(cmd, "link")) {
    ntfs_inode *ni = ntfs_pathname_to_inode(vol, NULL, a);
    char *leaf;
    ntfs_inode *dir = open_parent(b, &leaf);
    ntfschar *uname = NULL;
    int len = ntfs_mbstoucs(leaf, &uname);
    if (!ni || ntfs_link(ni, dir, uname, (u8)len)) die("linking", b);
    ntfs_inode_close(dir);
    ntfs_inode_close(ni);
  } else if (!strcmp(cmd, "symlink")) {
    /* IO_REPARSE_TAG_SYMLINK: substitute name \??\C:TARGET, print name C:TARGET. */
    ntfs_inode *ni = create(a, S_IFREG);
    char print[1024];
    snprintf(print, sizeof print, "C:%s", b);
    for (char *p = print; *p; ++p)
      if (*p == '/') *p = '\\';
    char subst[1100];
    snprintf(subst, sizeof subst, "\\??\\%s", print);
    ntfschar *us = NULL, *up = NULL;
    int ls = ntfs_mbstoucs(subst, &us), lp = ntfs_mbstoucs(print, &up);
    char buf[4096];
    size_t data_len = 12 + 2 * (size_t)(ls + lp);
    u32 tag = 0xA000000C;
    memcpy(buf, &tag, 4);
    u16 v = (u16)data_len, z = 0;
    memcpy(buf + 4, &v, 2);
    memcpy(buf + 6, &z, 2);
    u16 fields[4] = {0, (u16)(2 * ls), (u16)(2 * ls), (u16)(2 * lp)};
    memcpy(buf + 8, fields, 8);
    u32 flags = 0;
    memcpy(buf + 16, &flags, 4);
    memcpy(buf + 20, us, 2 * (size_t)ls);
    memcpy(buf + 20 + 2 * ls, up, 2 * (size_t)lp);
    if (ntfs_set_ntfs_reparse_data(ni, buf, 8 + data_len, 0)) die("setting reparse data of", a);
    ntfs_inode_close(ni);
  } else if (!strcmp(cmd, "interleave")) {
    ntfs_inode *n1 = create(a, S_IFREG), *n2 = create(b, S_IFREG);
    ntfs_attr *a1 = ntfs_attr_open(n1, AT_DATA, AT_UNNAMED, 0);
    ntfs_attr *a2 = ntfs_attr_open(n2, AT_DATA, AT_UNNAMED, 0);
    FILE *f = fopen(c, "rb");
    if (!a1 || !a2 || !f) die("interleaving", a);
    static char buf[4096];
    size_t n;
    for (s64 pos = 0; (n = fread(buf, 1, sizeof buf, f)) > 0; pos += (s64)n) {
      if (ntfs_attr_pwrite(a1, pos, (s64)n, buf) != (s64)n ||
          ntfs_attr_pwrite(a2, pos, (s64)n, buf) != (s64)n)
        die("writing", a);
    }
    fclose(f);
    ntfs_attr_close(a1);
    ntfs_attr_close(a2);
    ntfs_inode_close(n1);
    ntfs_inode_close(n2);
  } else if (!strcmp(cmd, "rm")) {
    char *leaf;
    ntfs_inode *dir = open_parent(a, &leaf);
    ntfs_inode *ni = ntfs_pathname_to_inode(vol, NULL, a);
    ntfschar *uname = NULL;
    int len = ntfs_mbstoucs(leaf, &uname);
    if (!ni || ntfs_delete(vol, a, ni, dir, uname, (u8)len)) die("deleting", a);
    ntfs_inode_close(dir);
    free(uname);
  } else if (!strcmp(cmd, "encrypt")) {
    ntfs_inode *ni = ntfs_pathname_to_inode(vol, NULL, a);
    if (!ni) die("opening", a);
    ni->flags |= FILE_ATTR_ENCRYPTED;
    NInoSetDirty(ni);
    ntfs_inode_close(ni);
  } else {
    die("unknown command", cmd);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: make_ntfs_tree IMAGE < COMMANDS\n");
    return 2;
  }
  setlocale(LC_ALL, ""); /* names are UTF-8 when LANG says so */
  vol = ntfs_mount(argv[1], NTFS_MNT_NONE);
  if (!vol) die("mounting", argv[1]);
  NVolSetCompression(vol);
  char line[8192];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    char *cmd = strtok(line, " "), *a = strtok(NULL, " "), *b = strtok(NULL, " "),
         *c = strtok(NULL, " ");
    if (cmd && a) run(cmd, a, b, c);
  }
  if (ntfs_umount(vol, FALSE)) die("unmounting", argv[1]);
  return 0;
}
