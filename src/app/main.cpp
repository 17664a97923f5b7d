// sluice: the AI gateway binary. `sluice serve [-c PATH] [--watch] [--reuse-port] [--log-level LEVEL]`,
// `sluice validate -c PATH`, `sluice fields`, `sluice version`.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "app/gateway_process.hpp"
#include "config/schema.hpp"
#include "observe/log.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Sluice: an AI gateway in front of LLM providers"};
  app.require_subcommand(1);

  sluice::app::ServeOptions serve_options;
  std::string serve_config;
  unsigned workers = 0;
  auto* serve = app.add_subcommand("serve", "Run the gateway (the embedded quick-start config without -c)");
  auto* serve_config_option = serve->add_option("-c,--config", serve_config, "YAML file or directory of YAML files");
  serve->add_option("-w,--workers", workers, "Worker threads (default: Gateway spec.workers, else one per core)");
  serve->add_flag("--reuse-port", serve_options.reuse_port,
                  "Start even when another process serves a listener port, sharing its connections (hand-over "
                  "upgrades); without it an address in use is an error");
  serve
      ->add_flag("--watch", serve_options.watch,
                 "Reload when the -c files change (also atomic renames, Kubernetes ConfigMap updates and files "
                 "the configuration reads), as SIGHUP does")
      ->needs(serve_config_option);
  std::string log_level = "info";
  serve->add_option("--log-level", log_level, "Operational log (stderr): the lowest level written")
      ->check(CLI::IsMember({"debug", "info", "warn", "warning", "error"}));
  serve->add_flag("--test-clock", serve_options.test_clock,
                  "Tests only: serve POST /debug/clock?offsetMs=N on the admin listener, moving the clock of "
                  "rate limits and budgets");

  std::string validate_config;
  auto* validate = app.add_subcommand("validate", "Check a configuration and print every problem");
  validate->add_option("-c,--config", validate_config, "YAML file or directory of YAML files")->required();

  auto* fields =
      app.add_subcommand("fields", "Print every configuration field path the loader accepts, one per line (Kind.path)");

  auto* version = app.add_subcommand("version", "Print the version");

  CLI11_PARSE(app, argc, argv);

  if (*serve) {
    if (!serve_config.empty()) serve_options.config_path = serve_config;
    if (workers > 0) serve_options.workers = workers;
    sluice::observe::set_log_level(sluice::observe::parse_log_level(log_level).value_or(sluice::observe::Level::Info));
    return sluice::app::serve(serve_options);
  }
  if (*validate) return sluice::app::validate(validate_config);
  if (*fields) {
    const auto schema = sluice::config::accepted_fields();
    if (schema.diagnostics.has_errors()) {
      std::fputs(schema.diagnostics.format_all().c_str(), stderr);
      return 1;
    }
    for (const auto& field : schema.fields) std::printf("%s\n", field.c_str());
    return 0;
  }
  if (*version) {
    std::printf("sluice %s\n", SLUICE_VERSION);
    return 0;
  }
  return 2;
}
