using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Orleans.Hosting.Kubernetes;
using QuotaGrains.Grains.Options;
using QuotaGrains.ServiceDefaults;
using QuotaGrains.ServiceDefaults.Options;
using QuotaGrains.Silo.Options;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace QuotaGrains.Tests.Deployment;

/// <summary>
/// deploy/k8s and deploy/Dockerfile read as the cluster would, checked against the application: probe paths and ports,
/// every environment name a setting the silo has (and valid together), labels Orleans' Kubernetes hosting looks for,
/// the RBAC it needs, Services and the PodDisruptionBudget on the pods, a grace period longer than the shutdown.
/// No container engine runs here: what can be checked offline is.
/// </summary>
public sealed partial class DeploymentManifestTests
{
    private static readonly string Deploy = Path.Combine(RepositoryRoot.Find(), "deploy");

    /// <summary>The configuration sections the manifests may set, and the options class each binds to.</summary>
    private static readonly Dictionary<string, Type> Sections = new()
    {
        ["Quota:Silo"] = typeof(QuotaSiloOptions),
        ["Quota:Storage"] = typeof(QuotaStorageOptions),
        ["Quota:Telemetry"] = typeof(QuotaTelemetryOptions),
    };

    private readonly List<Dictionary<object, object>> _manifests = ReadManifests();

    [Fact]
    public void Kustomize_applies_every_manifest_of_the_folder()
    {
        var kustomization = Load(Path.Combine(Deploy, "k8s", "kustomization.yaml")).Single();
        var resources = List(kustomization, "resources").Cast<string>().Order().ToArray();
        var files = Directory.GetFiles(Path.Combine(Deploy, "k8s"), "*.yaml").Select(Path.GetFileName).Where(f => f != "kustomization.yaml").Order().ToArray();
        Assert.Equal(files, resources);
    }

    [Fact]
    public void Probes_reach_the_health_endpoints_on_the_configured_HTTP_port()
    {
        var container = Container();
        var settings = Settings();
        var httpPort = Port(container, "http");

        Assert.Equal(int.Parse(settings["Quota:Silo:HttpPort"]!), httpPort);
        Assert.Equal(new QuotaSiloOptions().HttpPort, httpPort);
        Assert.Equal((QuotaTelemetry.ReadyPath, "http"), Probe(container, "readinessProbe"));
        Assert.Equal((QuotaTelemetry.LivePath, "http"), Probe(container, "livenessProbe"));
        Assert.Equal((QuotaTelemetry.LivePath, "http"), Probe(container, "startupProbe"));
        Assert.Equal(int.Parse(settings["Quota:Silo:SiloPort"]!), Port(container, "silo"));
        Assert.Equal(int.Parse(settings["Quota:Silo:GatewayPort"]!), Port(container, "gateway"));
    }

    [Fact]
    public void Every_setting_the_manifests_give_is_one_the_silo_reads_and_together_they_are_valid()
    {
        var settings = Settings();
        foreach (var key in settings.Keys.Where(k => k.StartsWith("Quota:", StringComparison.Ordinal)))
        {
            var section = key[..key.LastIndexOf(':')];
            Assert.True(Sections.TryGetValue(section, out var type), $"{key}: no such section");
            Assert.True(type.GetProperty(key[(key.LastIndexOf(':') + 1)..]) is { CanWrite: true }, $"{key}: {type.Name} has no such setting");
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var silo = configuration.GetSection("Quota:Silo").Get<QuotaSiloOptions>()!;
        var storage = configuration.GetSection("Quota:Storage").Get<QuotaStorageOptions>()!;
        var telemetry = configuration.GetSection("Quota:Telemetry").Get<QuotaTelemetryOptions>()!;
        Assert.Empty(silo.Validate(storage.ConnectionString));
        Assert.Empty(storage.Validate());
        Assert.Empty(telemetry.Validate());
        Assert.True(silo.IsAzure && silo.Kubernetes && storage.IsAzure);
        Assert.False(silo.Dashboard);

        // The rest are the pod's own names for Orleans' Kubernetes hosting, and the host's environment.
        var others = settings.Keys.Where(k => !k.StartsWith("Quota:", StringComparison.Ordinal)).Order().ToArray();
        Assert.Equal(
            new[] { "DOTNET_ENVIRONMENT", KubernetesHostingOptions.PodIPEnvironmentVariable, KubernetesHostingOptions.PodNameEnvironmentVariable, KubernetesHostingOptions.PodNamespaceEnvironmentVariable }.Order().ToArray(),
            others);
    }

    [Fact]
    public void The_storage_connection_string_comes_from_the_secret_and_the_rest_from_the_config_map()
    {
        var envFrom = List(Container(), "envFrom").Cast<Dictionary<object, object>>().ToList();
        var configMap = Single("ConfigMap");
        var secret = Single("Secret");

        Assert.Equal(Name(configMap), Map(envFrom.Single(e => e.ContainsKey("configMapRef")), "configMapRef")["name"]);
        Assert.Equal(Name(secret), Map(envFrom.Single(e => e.ContainsKey("secretRef")), "secretRef")["name"]);
        Assert.Equal(["Quota__Storage__ConnectionString"], Map(secret, "stringData").Keys.Cast<string>().ToArray());
        Assert.DoesNotContain(Map(configMap, "data").Keys.Cast<string>(), k => k.Contains("ConnectionString", StringComparison.Ordinal));
    }

    [Fact]
    public void Termination_waits_longer_than_the_silo_shutdown_that_writes_final_snapshots()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(Settings()).Build();
        var shutdown = configuration.GetSection("Quota:Silo").Get<QuotaSiloOptions>()!.ShutdownTimeout;
        var grace = TimeSpan.FromSeconds(int.Parse((string)PodSpec()["terminationGracePeriodSeconds"]));

        Assert.True(grace >= shutdown + TimeSpan.FromSeconds(15), $"grace {grace} against a shutdown of up to {shutdown}");
    }

    [Fact]
    public void Orleans_Kubernetes_hosting_finds_the_pods_and_may_watch_them()
    {
        var settings = Settings();
        var labels = Map(Map(Map(Map(Single("Deployment"), "spec"), "template"), "metadata"), "labels");
        Assert.Equal(settings["Quota:Silo:ServiceId"], labels[KubernetesHostingOptions.ServiceIdLabel]);
        Assert.Equal(settings["Quota:Silo:ClusterId"], labels[KubernetesHostingOptions.ClusterIdLabel]);

        var account = Name(Single("ServiceAccount"));
        Assert.Equal(account, PodSpec()["serviceAccountName"]);
        var binding = Single("RoleBinding");
        Assert.Equal(account, List(binding, "subjects").Cast<Dictionary<object, object>>().Single()["name"]);
        Assert.Equal(Name(Single("Role")), Map(binding, "roleRef")["name"]);
        var rule = List(Single("Role"), "rules").Cast<Dictionary<object, object>>().Single();
        Assert.Equal(["pods"], List(rule, "resources").Cast<string>().ToArray());
        Assert.Subset(List(rule, "verbs").Cast<string>().ToHashSet(), new HashSet<string> { "get", "list", "watch", "delete" });
    }

    [Fact]
    public void Services_and_the_disruption_budget_select_the_silo_pods_and_name_their_ports()
    {
        var deployment = Single("Deployment");
        var podLabels = Map(Map(Map(Map(deployment, "spec"), "template"), "metadata"), "labels");
        foreach (var (key, value) in Map(Map(Map(deployment, "spec"), "selector"), "matchLabels"))
        {
            Assert.Equal(value, podLabels[key]);
        }

        var services = _manifests.Where(m => Kind(m) == "Service").ToList();
        Assert.Equal(["quotagrains-gateway", "quotagrains-http"], services.Select(Name).Order().ToArray());
        foreach (var service in services)
        {
            foreach (var (key, value) in Map(Map(service, "spec"), "selector"))
            {
                Assert.Equal(value, podLabels[key]);
            }

            var port = List(Map(service, "spec"), "ports").Cast<Dictionary<object, object>>().Single();
            Assert.Equal(int.Parse((string)port["port"]), Port(Container(), (string)port["targetPort"]));
        }

        var budget = Single("PodDisruptionBudget");
        Assert.Equal("1", Map(budget, "spec")["maxUnavailable"]);
        foreach (var (key, value) in Map(Map(Map(budget, "spec"), "selector"), "matchLabels"))
        {
            Assert.Equal(value, podLabels[key]);
        }
    }

    [Fact]
    public void The_image_runs_the_silo_as_a_non_root_user_with_a_health_check_on_its_HTTP_port()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Deploy, "Dockerfile"));
        var silo = new QuotaSiloOptions();

        Assert.Equal(2, FromLine().Matches(dockerfile).Count);
        Assert.Equal($"USER $APP_UID", UserLine().Match(dockerfile).Value.Trim());
        Assert.Equal(new[] { silo.HttpPort, silo.SiloPort, silo.GatewayPort }.Select(p => p.ToString()).ToArray(), ExposeLine().Match(dockerfile).Groups[1].Value.Split(' '));
        Assert.Contains($"http://127.0.0.1:{silo.HttpPort}{QuotaTelemetry.LivePath}", HealthCheckLine().Match(dockerfile).Value, StringComparison.Ordinal);
        Assert.Equal($"ENTRYPOINT [\"dotnet\", \"{typeof(QuotaSiloOptions).Assembly.GetName().Name}.dll\"]", EntryPointLine().Match(dockerfile).Value.Trim());

        // Precompiled for the runtime image's platform, on its shared framework: a survivor recovering a dead silo's
        // Spaces should not spend its CPU compiling the engine.
        var publish = dockerfile.Split('\n').Single(l => l.StartsWith("RUN dotnet publish ", StringComparison.Ordinal));
        Assert.Contains(" -r linux-x64 --self-contained false -p:PublishReadyToRun=true ", publish, StringComparison.Ordinal);

        // The runtime image's user is the pod's (uid 1654 in the .NET images).
        var security = Map(PodSpec(), "securityContext");
        Assert.Equal(("true", "1654"), ((string)security["runAsNonRoot"], (string)security["runAsUser"]));
    }

    /// <summary>The ConfigMap, the Secret and the container's own env, as configuration keys (<c>__</c> → <c>:</c>);
    /// a value the pod fills in (its IP) is given a sample.</summary>
    private Dictionary<string, string?> Settings()
    {
        var settings = new Dictionary<string, string?>();
        foreach (var (key, value) in Map(Single("ConfigMap"), "data").Concat(Map(Single("Secret"), "stringData")))
        {
            settings[((string)key).Replace("__", ":", StringComparison.Ordinal)] = (string)value;
        }

        foreach (var env in List(Container(), "env").Cast<Dictionary<object, object>>())
        {
            settings[((string)env["name"]).Replace("__", ":", StringComparison.Ordinal)] = env.TryGetValue("value", out var value) ? (string)value : "10.1.2.3";
        }

        return settings;
    }

    private Dictionary<object, object> PodSpec() => Map(Map(Map(Single("Deployment"), "spec"), "template"), "spec");

    private Dictionary<object, object> Container() => List(PodSpec(), "containers").Cast<Dictionary<object, object>>().Single();

    private static int Port(Dictionary<object, object> container, string name) =>
        int.Parse((string)List(container, "ports").Cast<Dictionary<object, object>>().Single(p => (string)p["name"] == name)["containerPort"]);

    private static (string Path, string Port) Probe(Dictionary<object, object> container, string probe)
    {
        var get = Map(Map(container, probe), "httpGet");
        return ((string)get["path"], (string)get["port"]);
    }

    private Dictionary<object, object> Single(string kind) => _manifests.Single(m => Kind(m) == kind);

    private static string Kind(Dictionary<object, object> manifest) => (string)manifest["kind"];

    private static string Name(Dictionary<object, object> manifest) => (string)Map(manifest, "metadata")["name"];

    private static Dictionary<object, object> Map(Dictionary<object, object> node, string key) => (Dictionary<object, object>)node[key];

    private static List<object> List(Dictionary<object, object> node, string key) => (List<object>)node[key];

    private static List<Dictionary<object, object>> ReadManifests() =>
        Directory.GetFiles(Path.Combine(Deploy, "k8s"), "*.yaml").Where(f => Path.GetFileName(f) != "kustomization.yaml").SelectMany(Load).ToList();

    /// <summary>Every document of a YAML file, as maps, lists and strings.</summary>
    private static List<Dictionary<object, object>> Load(string path)
    {
        var deserializer = new DeserializerBuilder().Build();
        using var reader = new StringReader(File.ReadAllText(path));
        var parser = new Parser(reader);
        parser.Consume<StreamStart>();
        var documents = new List<Dictionary<object, object>>();
        while (parser.Accept<DocumentStart>(out _))
        {
            documents.Add(deserializer.Deserialize<Dictionary<object, object>>(parser));
        }

        return documents;
    }

    [GeneratedRegex(@"^FROM \S+ AS \w+$", RegexOptions.Multiline)]
    private static partial Regex FromLine();

    [GeneratedRegex(@"^USER .*$", RegexOptions.Multiline)]
    private static partial Regex UserLine();

    [GeneratedRegex(@"^EXPOSE (.*)$", RegexOptions.Multiline)]
    private static partial Regex ExposeLine();

    [GeneratedRegex(@"^HEALTHCHECK [^\n]*\\\n[^\n]*$", RegexOptions.Multiline)]
    private static partial Regex HealthCheckLine();

    [GeneratedRegex(@"^ENTRYPOINT .*$", RegexOptions.Multiline)]
    private static partial Regex EntryPointLine();
}
