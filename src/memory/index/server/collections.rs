//! Finding, making and checking the collection behind the workspace's
//! alias, and moving the alias.

use qdrant_client::qdrant::{
    AliasOperations, ChangeAliases, CreateAlias, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder,
    DeleteAlias, Distance, FieldType, VectorParamsBuilder, alias_operations::Action, vectors_config,
};

use super::{MemoryError, ServerIndex};

/// The payload indexes every collection has: what search filters on.
const FIELDS: [(&str, FieldType); 3] =
    [("scope", FieldType::Keyword), ("kind", FieldType::Keyword), ("created_at", FieldType::Integer)];

/// A build of `alias`: the alias, `--` and a ULID.
fn is_build_of(alias: &str, name: &str) -> bool {
    name.strip_prefix(alias)
        .and_then(|rest| rest.strip_prefix("--"))
        .is_some_and(|id| ulid::Ulid::from_string(id).is_ok())
}

impl ServerIndex {
    /// The collection behind the alias, found or made, and whether its
    /// vectors fit the embedder (`Some(why)` when they do not).
    pub(super) async fn resolve(&self) -> Result<(String, Option<String>), MemoryError> {
        if let Some(known) = self.known() {
            return Ok(known);
        }
        let _one = self.finding.lock().await;
        if let Some(known) = self.known() {
            return Ok(known);
        }
        let target = match self.find().await? {
            Some(t) => t,
            None => {
                let fresh = self.create().await?;
                self.point_alias(&fresh, false).await?;
                tracing::info!(alias = %self.settings.alias, collection = %fresh, "made a Qdrant collection for this workspace");
                self.state().emptied = true;
                fresh
            }
        };
        let mismatch = self.check(&target, true).await?;
        if let Some(why) = &mismatch {
            tracing::error!(collection = %target, "{why}");
        }
        self.sweep(&target).await;
        let mut s = self.state();
        s.live = Some(target.clone());
        s.mismatch = mismatch.clone();
        Ok((target, mismatch))
    }

    /// The live collection and its mismatch, when already found.
    pub(super) fn known(&self) -> Option<(String, Option<String>)> {
        let s = self.state();
        s.live.clone().map(|live| (live, s.mismatch.clone()))
    }

    /// The collection behind the alias, if there is one: the alias's, or a
    /// collection of the alias's name from before aliases, used as it is.
    pub(super) async fn find(&self) -> Result<Option<String>, MemoryError> {
        let alias = &self.settings.alias;
        let aliases = self.observe(self.client.list_aliases().await)?;
        if let Some(a) = aliases.aliases.into_iter().find(|a| &a.alias_name == alias) {
            return Ok(Some(a.collection_name));
        }
        Ok(self.observe(self.client.collection_exists(alias.as_str()).await)?.then(|| alias.clone()))
    }

    /// For `doctor`, changing nothing: the collection behind the alias and
    /// whether its vectors fit (`None` when there is none yet).
    pub async fn inspect(&self) -> Result<Option<(String, Option<String>)>, MemoryError> {
        let Some(target) = self.find().await? else { return Ok(None) };
        let mismatch = self.check(&target, false).await?;
        Ok(Some((target, mismatch)))
    }

    /// The live collection, unless its vectors do not fit.
    pub(super) async fn live(&self) -> Result<String, MemoryError> {
        match self.resolve().await? {
            (live, None) => Ok(live),
            (_, Some(why)) => Err(MemoryError::Index(why)),
        }
    }

    /// Where new points go: a rebuild's collection while one runs.
    pub(super) async fn target(&self) -> Result<String, MemoryError> {
        let building = self.state().building.clone();
        match building {
            Some(b) => Ok(b),
            None => self.live().await,
        }
    }

    /// Compares a collection with the embedder, and (`repair`) adds any
    /// payload index it lacks.
    pub(super) async fn check(&self, name: &str, repair: bool) -> Result<Option<String>, MemoryError> {
        let info = self.observe(self.client.collection_info(name).await)?.result.unwrap_or_default();
        let params = info.config.and_then(|c| c.params).and_then(|p| p.vectors_config).and_then(|v| v.config);
        let found = match params {
            Some(vectors_config::Config::Params(p)) => Some((p.size, p.distance)),
            _ => None,
        };
        if found != Some((self.dims as u64, Distance::Cosine as i32)) {
            let what = match found {
                Some((size, distance)) => format!(
                    "vectors of size {size} compared by {}",
                    Distance::try_from(distance).map_or("an unknown distance".into(), |d| format!("{d:?}"))
                ),
                None => "no single unnamed vector".into(),
            };
            return Ok(Some(format!(
                "the Qdrant collection `{name}` holds {what}, but steward's embedder makes vectors of size {} compared by Cosine; \
                 run `steward memory reindex` to rebuild it for this embedder",
                self.dims
            )));
        }
        for (field, kind) in FIELDS {
            if repair && !info.payload_schema.contains_key(field) {
                let index = CreateFieldIndexCollectionBuilder::new(name, field, kind).wait(true);
                self.observe(self.client.create_field_index(index).await)?;
            }
        }
        Ok(None)
    }

    /// Makes a new, empty collection for this workspace.
    pub(super) async fn create(&self) -> Result<String, MemoryError> {
        let name = format!("{}--{}", self.settings.alias, ulid::Ulid::new().to_string().to_lowercase());
        let mut create = CreateCollectionBuilder::new(&name)
            .vectors_config(VectorParamsBuilder::new(self.dims as u64, Distance::Cosine));
        if let Some(n) = self.settings.shard_number {
            create = create.shard_number(n);
        }
        if let Some(n) = self.settings.replication_factor {
            create = create.replication_factor(n);
        }
        if let Some(n) = self.settings.write_consistency_factor {
            create = create.write_consistency_factor(n);
        }
        self.observe(self.client.create_collection(create).await)?;
        for (field, kind) in FIELDS {
            let index = CreateFieldIndexCollectionBuilder::new(&name, field, kind).wait(true);
            self.observe(self.client.create_field_index(index).await)?;
        }
        Ok(name)
    }

    /// Points the alias at `collection` in one request (the old alias,
    /// if any, goes in the same one). `replacing_plain`: the alias's name is
    /// a collection from before aliases, which must go first.
    pub(super) async fn point_alias(&self, collection: &str, replacing_plain: bool) -> Result<(), MemoryError> {
        let alias = self.settings.alias.clone();
        if replacing_plain {
            self.observe(self.client.delete_collection(alias.as_str()).await)?;
        }
        let actions = vec![
            AliasOperations { action: Some(Action::DeleteAlias(DeleteAlias { alias_name: alias.clone() })) },
            AliasOperations {
                action: Some(Action::CreateAlias(CreateAlias {
                    collection_name: collection.to_owned(),
                    alias_name: alias.clone(),
                })),
            },
        ];
        let exists = self.observe(self.client.list_aliases().await)?.aliases.iter().any(|a| a.alias_name == alias);
        let actions = if exists { actions } else { actions.into_iter().skip(1).collect() };
        let change = ChangeAliases { actions, timeout: None };
        self.observe(self.change_aliases(change).await)?;
        Ok(())
    }

    /// Drops this workspace's builds that no alias points to (a rebuild cut
    /// off), once.
    pub(super) async fn sweep(&self, live: &str) {
        if self.state().swept {
            return;
        }
        let Ok(all) = self.client.list_collections().await else { return };
        let building = self.state().building.clone();
        for c in all.collections {
            let stale = is_build_of(&self.settings.alias, &c.name)
                && c.name != live
                && Some(c.name.as_str()) != building.as_deref();
            if stale {
                tracing::info!(collection = %c.name, "dropping an unfinished rebuild of the memory index");
                let _ = self.client.delete_collection(c.name.as_str()).await;
            }
        }
        self.state().swept = true;
    }
}
