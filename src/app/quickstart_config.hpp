// The embedded quick-start configuration `sluice serve` uses when no -c is given: a gateway on
// 127.0.0.1:8080 routing /v1 (and Gemini clients' /v1beta, translated) to the project's mock
// provider (sluice-mock on 127.0.0.1:8090) speaking OpenAI, and /claude to the same mock
// speaking Anthropic (so translation can be tried too), without any API key. Constant data.
#pragma once

#include <string_view>

namespace sluice::app {

inline constexpr std::string_view kQuickstartLabel = "<embedded quick-start>";

inline constexpr std::string_view kQuickstartConfig = R"yaml(
apiVersion: sluice.dev/v1alpha1
kind: Gateway
metadata: {name: quickstart}
spec:
  listeners:
  - {name: http, address: 127.0.0.1, port: 8080}
  admin: {address: 127.0.0.1, port: 9901}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: mock}
spec:
  type: AI
  ai:
    llm:
      openai:
        authToken: {kind: Inline, inline: sk-quickstart-not-a-real-key}
      host: 127.0.0.1
      port: 8090
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: mock-anthropic}
spec:
  type: AI
  ai:
    llm:
      anthropic:
        authToken: {kind: Inline, inline: sk-ant-quickstart-not-a-real-key}
      host: 127.0.0.1
      port: 8090
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: quickstart}
spec:
  rules:
  - name: anthropic-translated
    matches: [{path: {type: PathPrefix, value: /claude}}]
    backendRefs: [{group: sluice.dev, kind: Backend, name: mock-anthropic}]
  - name: openai-api
    matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{group: sluice.dev, kind: Backend, name: mock}]
  - name: gemini-api
    matches: [{path: {type: PathPrefix, value: /v1beta}}]
    backendRefs: [{group: sluice.dev, kind: Backend, name: mock}]
)yaml";

}  // namespace sluice::app
