//! docker-compose.yml runs steward and a Qdrant server with named volumes
//! and health checks.

use serde_norway::Value;

#[test]
fn compose_file_has_both_services_their_volumes_and_health_checks() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.yml")).unwrap();
    let doc: Value = serde_norway::from_str(&text).unwrap();
    let services = doc["services"].as_mapping().expect("services");
    for name in ["steward", "qdrant"] {
        let service = &services[name];
        assert!(service.is_mapping(), "service {name} is missing");
        assert!(service["healthcheck"]["test"].is_sequence(), "{name} has no health check");
        let volumes = service["volumes"].as_sequence().unwrap_or_else(|| panic!("{name} has no volumes"));
        for v in volumes {
            let source = v.as_str().unwrap().split(':').next().unwrap();
            assert!(doc["volumes"].get(source).is_some(), "{name} mounts {source}, which is not a named volume");
        }
    }
    assert!(
        services["steward"]["build"].is_mapping() || services["steward"]["build"].is_string(),
        "steward is built from the Dockerfile"
    );
    assert_eq!(services["steward"]["depends_on"]["qdrant"]["condition"].as_str(), Some("service_healthy"));
    assert!(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).is_file());
}
