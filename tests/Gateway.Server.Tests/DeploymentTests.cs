using System.Text.RegularExpressions;
using Gateway.Core.Config;
using YamlDotNet.RepresentationModel;

namespace Gateway.Server.Tests;

/// <summary>
/// The Dockerfile and deploy/kubernetes (kubectl is not available here): parsed, and checked against each other and
/// against what the gateway does — its config loads, the probes hit its health endpoints on its port, the grace
/// period outlasts its drain, the config mount lets hot reload see an update, every secret it reads is provided.
/// </summary>
public sealed partial class DeploymentTests
{
    private static readonly string s_dir = Path.Combine(AppContext.BaseDirectory, "deploy", "kubernetes");

    private static List<YamlMappingNode> Documents(string file)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(s_dir, file))));
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode).ToList();
    }

    private static YamlNode At(YamlNode node, params object[] path)
    {
        foreach (var step in path)
        {
            node = step is int index ? ((YamlSequenceNode)node).Children[index] : ((YamlMappingNode)node).Children[new YamlScalarNode((string)step)];
        }
        return node;
    }

    private static string Text(YamlNode node, params object[] path) => ((YamlScalarNode)At(node, path)).Value!;

    private static YamlMappingNode Kind(string kind, string name) =>
        Directory.GetFiles(s_dir, "*.yaml").SelectMany(f => Documents(Path.GetFileName(f)))
            .Single(d => d.Children.ContainsKey("kind") && Text(d, "kind") == kind && Text(d, "metadata", "name") == name);

    private static GatewayConfig Config()
    {
        var secrets = Kind("Secret", "gateway-secrets");
        var values = ((YamlMappingNode)At(secrets, "stringData")).Children.ToDictionary(e => ((YamlScalarNode)e.Key).Value!, e => ((YamlScalarNode)e.Value).Value!);
        // The image's path of the bundled prices, read here from the repository's copy.
        var yaml = File.ReadAllText(Path.Combine(s_dir, "config.yaml")).Replace("/app/resources/pricing.yaml", "resources/pricing.yaml", StringComparison.Ordinal);
        var load = ConfigLoader.Parse(yaml, new EnvironmentExpander(name => values.GetValueOrDefault(name)), AppContext.BaseDirectory);
        Assert.True(load.Config is not null, string.Join('\n', load.Errors));
        return load.Config;
    }

    [Fact]
    public void The_kustomization_names_files_that_exist_and_the_config_loads_with_every_secret_it_reads()
    {
        var kustomization = Documents("kustomization.yaml")[0];
        foreach (var resource in ((YamlSequenceNode)At(kustomization, "resources")).Children)
        {
            Assert.True(File.Exists(Path.Combine(s_dir, ((YamlScalarNode)resource).Value!)), $"{resource} is missing");
        }
        Assert.Equal("gateway-config", Text(kustomization, "configMapGenerator", 0, "name"));
        Assert.Equal("config.yaml", Text(kustomization, "configMapGenerator", 0, "files", 0));

        var config = Config();
        Assert.All(config.Providers, p => Assert.True(p.Enabled, p.DisabledReason));
        Assert.Null(config.Admin!.DisabledReason);
        Assert.All(config.Auth!.Keys, k => Assert.Null(k.DisabledReason));
        Assert.Equal("0.0.0.0", config.Server.Host);
    }

    [Fact]
    public void The_deployment_probes_the_gateways_health_endpoints_and_outlasts_its_drain()
    {
        var config = Config();
        var deployment = Kind("Deployment", "gateway");
        var spec = At(deployment, "spec", "template", "spec");
        var container = At(spec, "containers", 0);
        Assert.Equal("3", Text(deployment, "spec", "replicas"));

        var port = At(container, "ports", 0);
        Assert.Equal(config.Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), Text(port, "containerPort"));
        Assert.Equal("/readyz", Text(container, "readinessProbe", "httpGet", "path"));
        Assert.Equal("/healthz", Text(container, "livenessProbe", "httpGet", "path"));
        Assert.Equal(Text(port, "name"), Text(container, "readinessProbe", "httpGet", "port"));
        Assert.Equal(Text(port, "name"), Text(container, "livenessProbe", "httpGet", "port"));

        var preStop = ((YamlSequenceNode)At(container, "lifecycle", "preStop", "exec", "command")).Children.Select(c => ((YamlScalarNode)c).Value).ToList();
        Assert.Equal("sleep", preStop[0]);
        int grace = int.Parse(Text(spec, "terminationGracePeriodSeconds"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(grace > config.Server.DrainTimeout.TotalSeconds + int.Parse(preStop[1]!, System.Globalization.CultureInfo.InvariantCulture),
            $"terminationGracePeriodSeconds {grace} must outlast drain_timeout {config.Server.DrainTimeout} and the preStop pause");

        // The config directory, not a subPath: a ConfigMap update is a symlink swap the file watcher sees.
        var mount = At(container, "volumeMounts", 0);
        Assert.False(((YamlMappingNode)mount).Children.ContainsKey("subPath"));
        var configPath = ((YamlSequenceNode)At(container, "env")).Children.Single(e => Text(e, "name") == "GATEWAY_CONFIG");
        Assert.Equal(Text(mount, "mountPath") + "/config.yaml", Text(configPath, "value"));
        Assert.Equal("gateway-config", Text(spec, "volumes", 0, "configMap", "name"));
        Assert.Equal("gateway-secrets", Text(container, "envFrom", 0, "secretRef", "name"));

        // Overload sheds at a share of the container's memory limit: the limit must be set for it to mean anything.
        Assert.NotNull(config.Server.Overload);
        Assert.Matches(@"^\d+(Mi|Gi)$", Text(container, "resources", "limits", "memory"));
        Assert.Matches(@"^\d+(Mi|Gi)$", Text(container, "resources", "requests", "memory"));
    }

    [Fact]
    public void The_services_reach_the_gateway_and_redis_where_the_config_says()
    {
        var config = Config();
        var gateway = Kind("Service", "gateway");
        Assert.Equal("http", Text(gateway, "spec", "ports", 0, "targetPort"));
        Assert.Equal("gateway", Text(gateway, "spec", "selector", "app"));

        var redis = Kind("Service", "redis");
        Assert.Equal(config.State!.Host, Text(redis, "metadata", "name"));
        Assert.Equal(config.State.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), Text(redis, "spec", "ports", 0, "port"));
        var args = ((YamlSequenceNode)At(Kind("Deployment", "redis"), "spec", "template", "spec", "containers", 0, "args")).Children.Select(a => ((YamlScalarNode)a).Value).ToList();
        Assert.Equal("noeviction", args[args.IndexOf("--maxmemory-policy") + 1]);
        Assert.Equal("yes", args[args.IndexOf("--appendonly") + 1]);
    }

    [Fact]
    public void The_dockerfile_builds_with_the_sdk_runs_on_aspnet_as_a_non_root_user_and_checks_health()
    {
        var config = Config();
        var dockerfile = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Dockerfile"));
        var from = FromLine().Matches(dockerfile).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["mcr.microsoft.com/dotnet/sdk:10.0", "mcr.microsoft.com/dotnet/aspnet:10.0"], from);
        Assert.Matches(@"(?m)^USER \$APP_UID$", dockerfile);
        Assert.Matches($@"(?m)^EXPOSE {config.Server.Port}$", dockerfile);
        Assert.Matches($@"(?m)^HEALTHCHECK .*--probe"", ""http://127\.0\.0\.1:{config.Server.Port}/healthz""", dockerfile);
        Assert.Contains("COPY resources/pricing.yaml " + File.ReadAllText(Path.Combine(s_dir, "config.yaml")).Split("file: ")[1].Split(' ')[0], dockerfile, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^ENV GATEWAY_CONFIG=/etc/gateway/config.yaml$", dockerfile);
    }

    [GeneratedRegex(@"(?m)^FROM (\S+)")]
    private static partial Regex FromLine();
}
