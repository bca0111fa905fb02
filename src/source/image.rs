//! Container images saved as tarballs: `docker save` output (`manifest.json`
//! naming each image's tags and layer tars) and OCI image layouts
//! (`index.json`, `oci-layout`, `blobs/sha256/*`). Recognised by content, not
//! by name.
//!
//! Each layer is opened once (images in one tarball share layers) under the
//! same [`Limits`] as any archive, the whole tarball sharing one budget.
//! Members are named `image.tar!layer:abcd1234ef01!etc/app.env` (the layer's
//! digest, shortened as `docker` shortens ids), image configs
//! `image.tar!blobs/sha256/…` (build history and `ENV` lines live there).
//!
//! Whiteouts are honoured, but a file an upper layer deletes or replaces is
//! still scanned: the lower layer still holds it, and anyone who pulls the
//! image can read it. [`Opened::fate`] tells which.
//!
//! The manifests are hostile too: a layer path that is absolute or has a
//! `..`, a digest that is not `sha256:` and 64 hex digits, JSON over
//! [`MAX_JSON`] bytes or nested deeper than serde's limit, and a layer that
//! is not in the tarball are refused as an [`ImageError`] naming the file.

use std::collections::{HashMap, HashSet};
use std::io::Cursor;
use std::ops::Range;

use serde::Deserialize;

use super::archive::{self, base_name, Expander, Limits, Listing, WHITEOUT};

/// Largest manifest, index or config read, in bytes.
pub const MAX_JSON: usize = 4 << 20;

/// Levels of nested OCI indexes followed (a multi-platform image is one).
const MAX_INDEX_DEPTH: u32 = 2;

/// Why an image's manifests were refused; its Display starts with the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {cause}")]
pub struct ImageError {
    /// `image.tar!manifest.json` or the blob concerned.
    pub location: String,
    pub cause: String,
}

/// Which kind of image tarball.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `docker save`: `manifest.json` (newer versions write an OCI layout
    /// beside it; the tags are in `manifest.json`).
    Docker,
    /// An OCI image layout: `oci-layout` and `index.json`.
    Oci,
}

/// The regular files of the outer tar: name (without `./`) to byte range.
pub struct Members(HashMap<String, Range<usize>>);

/// Whether `bytes` are an image tarball, and its members if so. A tar with
/// more members than `limits` allow is left to the archive code, which
/// reports it.
pub fn detect(bytes: &[u8], limits: &Limits) -> Option<(Layout, Members)> {
    if archive::detect(bytes) != Some(archive::Kind::Tar) {
        return None;
    }
    let members = list(bytes, limits.max_members)?;
    let has = |n: &str| members.0.contains_key(n);
    let layout = if has("manifest.json") {
        Layout::Docker
    } else if has("index.json") && has("oci-layout") {
        Layout::Oci
    } else {
        return None;
    };
    Some((layout, members))
}

fn list(bytes: &[u8], max_members: u64) -> Option<Members> {
    let mut archive = tar::Archive::new(Cursor::new(bytes));
    let mut members = HashMap::new();
    for entry in archive.entries_with_seek().ok()? {
        let entry = entry.ok()?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        if members.len() as u64 >= max_members {
            return None;
        }
        let start = usize::try_from(entry.raw_file_position()).ok()?;
        let end = start.checked_add(usize::try_from(entry.size()).ok()?)?;
        if end > bytes.len() {
            return None;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        members.insert(archive::layer_name(&name).to_string(), start..end);
    }
    Some(Members(members))
}

/// One image of the tarball: its names and its layers, lowest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Repository tags (`app:1.0`), possibly none.
    pub names: Vec<String>,
    /// Indexes into [`Opened::layers`].
    pub layers: Vec<usize>,
}

/// One layer, opened once however many images hold it.
#[derive(Debug, Clone, Default)]
pub struct Layer {
    /// `sha256:…`, or the layer's path when `docker save` gave no digest.
    pub digest: String,
    member: String,
    files: HashSet<String>,
    /// Names deleted by `.wh.NAME` entries (`dir/.wh.x` deletes `dir/x`).
    deleted: HashSet<String>,
    /// Directories whose lower contents `.wh..wh..opq` hides.
    opaque: HashSet<String>,
}

impl Layer {
    /// The digest as `docker` shortens ids: 12 hex digits.
    pub fn short(&self) -> &str {
        let hex = self.digest.strip_prefix("sha256:").unwrap_or(&self.digest);
        hex.get(..12).unwrap_or(hex)
    }

    fn record(&mut self, listing: Listing) {
        for name in listing {
            let base = base_name(&name);
            let dir = &name[..name.len() - base.len()];
            match base.strip_prefix(WHITEOUT) {
                Some(".wh..opq") => {
                    self.opaque.insert(dir.trim_end_matches('/').to_string());
                }
                Some(gone) => {
                    self.deleted.insert(format!("{dir}{gone}"));
                }
                None => {
                    self.files.insert(name);
                }
            }
        }
    }

    /// Whether this layer, above another, hides `path` of it.
    fn hides(&self, path: &str) -> Option<Fate> {
        let mut at = path;
        loop {
            if self.deleted.contains(at) {
                return Some(Fate::Deleted);
            }
            match at.rfind('/') {
                Some(i) => at = &at[..i],
                None => break,
            }
            if self.opaque.contains(at) {
                return Some(Fate::Deleted);
            }
        }
        if self.opaque.contains("") {
            return Some(Fate::Deleted);
        }
        self.files.contains(path).then_some(Fate::Replaced)
    }
}

/// What became of a layer's file in the image built on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Visible in the image's file system.
    Present,
    /// Deleted by a whiteout in an upper layer; still in this layer.
    Deleted,
    /// Overwritten by an upper layer's file; still in this layer.
    Replaced,
}

/// An opened image tarball: its images and layers, and what was skipped.
#[derive(Debug, Default)]
pub struct Opened {
    pub images: Vec<Image>,
    pub layers: Vec<Layer>,
    pub skipped: Vec<archive::Skipped>,
}

impl Opened {
    /// What became of `path` of layer `layer`, and the upper layer that did
    /// it. Across images sharing the layer, the most visible fate wins.
    pub fn fate(&self, layer: usize, path: &str) -> (Fate, Option<usize>) {
        let mut best = (Fate::Deleted, None);
        for image in &self.images {
            let Some(pos) = image.layers.iter().position(|&l| l == layer) else {
                continue;
            };
            let above = image.layers[pos + 1..]
                .iter()
                .filter(|&&l| l != layer)
                .find_map(|&l| self.layers[l].hides(path).map(|f| (f, Some(l))));
            match above {
                None => return (Fate::Present, None),
                Some(f) if best.1.is_none() || f.0 == Fate::Replaced => best = f,
                Some(_) => {}
            }
        }
        best
    }

    /// The names of the images holding `layer`.
    pub fn names(&self, layer: usize) -> Vec<String> {
        let mut names: Vec<String> = self
            .images
            .iter()
            .filter(|i| i.layers.contains(&layer))
            .flat_map(|i| i.names.iter().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// A file handed to the visitor: its `outer!inner` location and, for a layer
/// member, the layer and the path in it.
pub struct Member<'a> {
    pub location: &'a str,
    pub layer: Option<(usize, &'a str)>,
}

/// Reads the manifests of the image tarball `bytes` at `path`, then hands
/// every file of every layer, and each image config, to `visit`.
///
/// # Errors
///
/// A hostile or broken manifest, before any layer is read (see the module
/// docs). Corrupt layers and limits reached are in [`Opened::skipped`].
pub fn expand(
    path: &str,
    bytes: &[u8],
    (layout, members): (Layout, Members),
    limits: &Limits,
    visit: &mut dyn FnMut(Member<'_>, Vec<u8>),
) -> Result<Opened, ImageError> {
    let plan = Plan::read(path, bytes, layout, &members)?;
    let mut opened = Opened {
        images: plan.images,
        layers: plan.layers,
        skipped: Vec::new(),
    };
    let current = std::cell::Cell::new(None);
    let prefixes: Vec<String> = opened
        .layers
        .iter()
        .map(|l| format!("{path}!layer:{}", l.short()))
        .collect();
    let mut inner = |location: &str, data: Vec<u8>| {
        let layer = current.get().map(|i: usize| {
            let rest = location.get(prefixes[i].len() + 1..).unwrap_or_default();
            (i, rest.split('!').next().unwrap_or_default())
        });
        visit(Member { location, layer }, data);
    };
    let mut x = Expander::new(limits, &mut inner);
    for config in &plan.configs {
        let data = bytes[members.0[config].clone()].to_vec();
        x.plain(&format!("{path}!{config}"), data);
    }
    for (i, layer) in opened.layers.iter_mut().enumerate() {
        current.set(Some(i));
        let mut listing = Listing::new();
        x.layer(
            &prefixes[i],
            &bytes[members.0[&layer.member].clone()],
            &mut listing,
        );
        layer.record(listing);
    }
    opened.skipped = std::mem::take(&mut x.skipped);
    Ok(opened)
}

/// What the manifests say to read.
#[derive(Default)]
struct Plan {
    images: Vec<Image>,
    layers: Vec<Layer>,
    configs: Vec<String>,
}

#[derive(Deserialize)]
struct DockerImage {
    #[serde(rename = "Config", default)]
    config: Option<String>,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

#[derive(Deserialize, Default)]
struct Config {
    #[serde(default)]
    rootfs: Option<RootFs>,
}

#[derive(Deserialize, Default)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

#[derive(Deserialize)]
struct OciIndex {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct Descriptor {
    digest: String,
    #[serde(default)]
    annotations: HashMap<String, String>,
}

#[derive(Deserialize)]
struct OciManifest {
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    /// Present when the blob is an index (a multi-platform image).
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

impl Plan {
    fn read(
        path: &str,
        bytes: &[u8],
        layout: Layout,
        members: &Members,
    ) -> Result<Plan, ImageError> {
        let r = Reader {
            path,
            bytes,
            members,
        };
        let mut plan = Plan::default();
        match layout {
            Layout::Docker => plan.docker(&r)?,
            Layout::Oci => {
                let index: OciIndex = r.json("index.json")?;
                for d in &index.manifests {
                    plan.oci(&r, d, image_names(&d.annotations), 1)?;
                }
            }
        }
        Ok(plan)
    }

    fn docker(&mut self, r: &Reader<'_>) -> Result<(), ImageError> {
        let images: Vec<DockerImage> = r.json("manifest.json")?;
        for image in images {
            let diff_ids = match &image.config {
                Some(c) => {
                    r.check_path("manifest.json", c)?;
                    self.add_config(c);
                    let config: Config = r.json(c)?;
                    config.rootfs.unwrap_or_default().diff_ids
                }
                None => Vec::new(),
            };
            let mut layers = Vec::new();
            for (i, member) in image.layers.iter().enumerate() {
                let member = r.check_path("manifest.json", member)?;
                let digest = match member.strip_prefix("blobs/sha256/") {
                    Some(hex) => format!("sha256:{hex}"),
                    None => diff_ids
                        .get(i)
                        .filter(|d| valid_digest(d))
                        .cloned()
                        .unwrap_or_else(|| member.to_string()),
                };
                layers.push(self.add_layer(digest, member));
            }
            let names = image.repo_tags.unwrap_or_default();
            self.images.push(Image { names, layers });
        }
        Ok(())
    }

    /// One entry of an OCI index: an image manifest, or an index of them.
    fn oci(
        &mut self,
        r: &Reader<'_>,
        d: &Descriptor,
        names: Vec<String>,
        depth: u32,
    ) -> Result<(), ImageError> {
        let member = r.blob(&d.digest)?;
        let m: OciManifest = r.json(&member)?;
        if let Some(nested) = m.manifests {
            if depth >= MAX_INDEX_DEPTH {
                return Err(r.error(&member, "indexes nested too deep".to_string()));
            }
            for n in &nested {
                self.oci(r, n, names.clone(), depth + 1)?;
            }
            return Ok(());
        }
        if let Some(c) = &m.config {
            let config = r.blob(&c.digest)?;
            self.add_config(&config);
        }
        let mut layers = Vec::new();
        for l in &m.layers {
            let member = r.blob(&l.digest)?;
            layers.push(self.add_layer(l.digest.clone(), &member));
        }
        self.images.push(Image { names, layers });
        Ok(())
    }

    fn add_config(&mut self, member: &str) {
        if !self.configs.iter().any(|c| c == member) {
            self.configs.push(member.to_string());
        }
    }

    fn add_layer(&mut self, digest: String, member: &str) -> usize {
        if let Some(i) = self.layers.iter().position(|l| l.member == member) {
            return i;
        }
        self.layers.push(Layer {
            digest,
            member: member.to_string(),
            ..Layer::default()
        });
        self.layers.len() - 1
    }
}

/// A descriptor's image names: containerd's full name, else the OCI tag.
fn image_names(annotations: &HashMap<String, String>) -> Vec<String> {
    [
        "io.containerd.image.name",
        "org.opencontainers.image.ref.name",
    ]
    .iter()
    .find_map(|k| annotations.get(*k))
    .map(|n| vec![n.clone()])
    .unwrap_or_default()
}

fn valid_digest(d: &str) -> bool {
    d.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Reads the tarball's JSON files, refusing what could lead outside it.
struct Reader<'a> {
    path: &'a str,
    bytes: &'a [u8],
    members: &'a Members,
}

impl Reader<'_> {
    fn error(&self, file: &str, cause: String) -> ImageError {
        ImageError {
            location: format!("{}!{file}", self.path),
            cause,
        }
    }

    /// `p` as named in `file`, checked: relative, no `..`, in the tarball.
    fn check_path<'p>(&self, file: &str, p: &'p str) -> Result<&'p str, ImageError> {
        let hostile = p.starts_with('/')
            || p.contains('\\')
            || p.split('/').any(|c| c == "..")
            || p.contains('\0');
        if hostile {
            let shown: String = p.chars().take(80).collect();
            return Err(self.error(
                file,
                format!("refused: path {shown:?} leads outside the image"),
            ));
        }
        let p = archive::layer_name(p);
        if !self.members.0.contains_key(p) {
            let shown: String = p.chars().take(80).collect();
            return Err(self.error(file, format!("refused: {shown:?} is not in the tarball")));
        }
        Ok(p)
    }

    /// The member holding the blob `digest`.
    fn blob(&self, digest: &str) -> Result<String, ImageError> {
        if !valid_digest(digest) {
            let shown: String = digest.chars().take(80).collect();
            return Err(self.error(
                "index.json",
                format!("refused: digest {shown:?} is not sha256:<64 hex digits>"),
            ));
        }
        let member = format!("blobs/sha256/{}", &digest[7..]);
        self.check_path("index.json", &member)?;
        Ok(member)
    }

    fn json<T: serde::de::DeserializeOwned>(&self, file: &str) -> Result<T, ImageError> {
        let Some(range) = self.members.0.get(file) else {
            return Err(self.error(file, "missing from the tarball".to_string()));
        };
        if range.len() > MAX_JSON {
            return Err(self.error(
                file,
                format!(
                    "refused: {} bytes of JSON, over the {MAX_JSON} byte limit",
                    range.len()
                ),
            ));
        }
        serde_json::from_slice(&self.bytes[range.clone()])
            .map_err(|e| self.error(file, format!("not a valid image manifest: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(names: &[&str]) -> Layer {
        let mut l = Layer::default();
        l.record(names.iter().map(|s| s.to_string()).collect());
        l
    }

    #[test]
    fn whiteouts_delete_files_and_directories() {
        let upper = layer(&[
            "etc/.wh.app.env",
            "var/.wh..wh..opq",
            "opt/x",
            "srv/.wh.data",
        ]);
        assert_eq!(upper.hides("etc/app.env"), Some(Fate::Deleted));
        assert_eq!(upper.hides("etc/other"), None);
        assert_eq!(upper.hides("var/log/a"), Some(Fate::Deleted));
        assert_eq!(upper.hides("srv/data/deep/file"), Some(Fate::Deleted));
        assert_eq!(upper.hides("opt/x"), Some(Fate::Replaced));
        assert_eq!(upper.hides("variable"), None);
    }

    #[test]
    fn hostile_paths_are_refused() {
        let members = Members(HashMap::from([("a/layer.tar".to_string(), 0..0)]));
        let r = Reader {
            path: "img.tar",
            bytes: &[],
            members: &members,
        };
        for p in ["../etc/passwd", "/etc/passwd", "a/../../x", "a\\..\\x"] {
            let e = r.check_path("manifest.json", p).unwrap_err();
            assert!(
                e.to_string().starts_with("img.tar!manifest.json: refused"),
                "{e}"
            );
        }
        assert_eq!(
            r.check_path("manifest.json", "./a/layer.tar"),
            Ok("a/layer.tar")
        );
        assert!(r.blob("sha256:../../x").is_err());
    }
}
