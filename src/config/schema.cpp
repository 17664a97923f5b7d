#include "config/schema.hpp"

#include <set>
#include <string>

#include "config/loader.hpp"
#include "policy/section.hpp"

namespace sluice::config {

namespace {

// Enters every section and branch of the decoders: a section must be present for its fields
// to be read, a list needs one entry, and each provider, auth kind, filter type and Backend
// type has its own fields (a SecretRef authToken reads every authToken field; the others are
// accepted and ignored). Leaf fields may be left out (their keys are recorded anyway). The
// TrafficPolicy sections are added from their registry entries (every_branch).
constexpr const char* kEveryBranch = R"yaml(
apiVersion: sluice.dev/v1alpha1
kind: Gateway
metadata: {name: gateway}
spec:
  listeners: [{name: http, port: 8080, http2: true, tls: {certificateRef: {name: keys}, caCertificateRef: {name: keys}}}]
  admin: {port: 9901}
  limits: {}
  accessLog: {redactQueryParams: [key], fields: [status]}
  clientAddress: {}
  redis: {address: localhost, passwordRef: {name: keys}, tls: {mode: Enabled, caCertificateRef: {name: keys}}}
  pricing: {models: {model: {input: "1"}}}
  responseStore: {}
  telemetry:
    otlp: {endpoint: "http://collector:4318", protocol: http/protobuf, timeout: 10s, headers: {x-team: llm}, insecureSkipVerify: false}
    traces: {sampling: 0.1}
    metrics: {exportInterval: 15s}
    captureContent: None
    metricLabels: [principal.metadata.team]
---
apiVersion: v1
kind: Secret
metadata: {name: keys}
stringData: {apiKey: a, accessKeyId: b, secretAccessKey: c, ca.crt: d, password: e}
data: {other: ZQ==}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: openai}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: SecretRef, secretRef: {name: keys}}}
      path: {full: /v1/chat/completions}
      authHeader: {headerName: api-key}
      tls: {mode: Enabled, caCertificateRef: {name: keys}}
    passthrough: {apis: [audio]}
    healthCheck: {}
    modelList: {}
    circuitBreaker: {}
    outlierDetection: {}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: ollama}
spec:
  type: AI
  ai: {llm: {ollama: {authToken: {kind: SecretRef, secretRef: {name: keys}}}}}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: anthropic}
spec:
  type: AI
  ai: {llm: {anthropic: {authToken: {kind: SecretRef, secretRef: {name: keys}}}}}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: gemini}
spec:
  type: AI
  ai: {llm: {gemini: {authToken: {kind: SecretRef, secretRef: {name: keys}}}}}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: vertexai}
spec:
  type: AI
  ai: {llm: {vertexai: {authToken: {kind: SecretRef, secretRef: {name: keys}}, projectId: p, location: l}}}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: azureopenai}
spec:
  type: AI
  ai: {llm: {azureopenai: {authToken: {kind: SecretRef, secretRef: {name: keys}}, endpoint: e.openai.azure.com, deploymentName: d}}}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: bedrock}
spec:
  type: AI
  ai: {llm: {bedrock: {authToken: {kind: SecretRef, secretRef: {name: keys}}, region: r, credentials: {secretRef: {name: keys}}}}}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: groups}
spec:
  type: AI
  ai:
    priorityGroups:
    - providers:
      - name: first
        openai: {authToken: {kind: SecretRef, secretRef: {name: keys}}}
        path: {prefix: /v1}
        authHeader: {}
        tls: {caCertificateRef: {name: keys}}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: static}
spec:
  type: Static
  static:
    hosts: [{host: h, port: 80}]
    tls: {caCertificateRef: {name: keys}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route}
spec:
  rules:
  - name: rule
    matches:
    - path: {value: /}
      headers: [{name: h, value: v}]
      queryParams: [{name: q, value: v}]
    filters:
    - {type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /}}}
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: a, value: v}], add: [{name: b, value: v}]}
    - type: ResponseHeaderModifier
      responseHeaderModifier: {set: [{name: a, value: v}], add: [{name: b, value: v}]}
    - {type: CORS, cors: {}}
    backendRefs: [{name: openai}]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: policy}
spec:
  targetRefs: [{kind: HTTPRoute, name: route, sectionName: rule}]
)yaml";

// kEveryBranch with each TrafficPolicy section's every_branch value added to its TrafficPolicy
// (the last document).
std::string every_branch() {
  std::string yaml = kEveryBranch;
  for (const auto& section : policy::policy_sections())
    if (section.decode != nullptr)
      yaml += "  " + std::string(section.key) + ": " + std::string(section.every_branch) + "\n";
  return yaml;
}

}  // namespace

Schema accepted_fields() {
  std::set<std::string> fields;
  LoadOptions options;
  options.fields = &fields;
  auto result = load_sources({Source{"<schema>", every_branch()}}, options);
  return Schema{{fields.begin(), fields.end()}, std::move(result.diagnostics)};
}

}  // namespace sluice::config
