# What is uploaded as the function's source: the files .gcloudignore (at the repository root)
# lets through. gcloud reads that file itself; here it is read with a deliberately small grammar,
# which tests/infra checks the file keeps to, and compares with git's reading of the same file
# (git implements the .gitignore syntax .gcloudignore mirrors) on a tree with nested caches:
#   *            ignore everything (must be the first pattern)
#   !<glob>      include the files matching <glob> (a trailing "/" line only re-includes the
#                directory for gitignore semantics and adds nothing here)
#   <glob>       exclude files matching <glob>; a trailing "/" excludes a directory's contents
# Only var.*/local.*/path.module and file functions in here (tests evaluate this file alone).

locals {
  source_root = abspath("${path.module}/..")
  ignore_lines = [
    for line in split("\n", file("${local.source_root}/.gcloudignore")) : trimspace(line)
    if trimspace(line) != "" && !startswith(trimspace(line), "#")
  ]
  source_include_globs = [
    for line in local.ignore_lines : trimprefix(line, "!")
    if startswith(line, "!") && !endswith(line, "/")
  ]
  source_exclude_globs = [
    for line in local.ignore_lines : endswith(line, "/") ? "${line}**" : line
    if !startswith(line, "!") && line != "*"
  ]
  source_files = sort(setsubtract(
    flatten([for glob in local.source_include_globs : tolist(fileset(local.source_root, glob))]),
    flatten([for glob in local.source_exclude_globs : tolist(fileset(local.source_root, glob))]),
  ))
  # Content hash of exactly those files: the object name, so a rebuild happens when (and only
  # when) an uploaded file changes, whatever else a test run leaves in the tree.
  source_hash = sha256(join("\n", [
    for f in local.source_files : "${f} ${filesha256("${local.source_root}/${f}")}"
  ]))
}
