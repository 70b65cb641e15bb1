using System.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace MobileUNet.Tests;

/// <summary>deploy/: the entrypoint's shard mapping (run by bash), the Kubernetes Job and the Slurm script.</summary>
public class DeployTests
{
    static string Deploy { get; } = FindDeploy();

    static string FindDeploy()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "deploy", "entrypoint.sh"))) return Path.Combine(dir.FullName, "deploy");
        throw new DirectoryNotFoundException("deploy/ not found above the test binaries.");
    }

    static (int Code, string Stdout, string Stderr) Bash(string script, Dictionary<string, string> env, params string[] args)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(script);
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var name in new[] { "JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT", "SHARD_INDEX", "SHARD_COUNT", "SLURM_SUBMIT_DIR" })
            info.Environment.Remove(name);
        foreach (var (k, v) in env) info.Environment[k] = v;
        using var p = Process.Start(info)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Trim(), stderr.Result);
    }

    static string Entrypoint => Path.Combine(Deploy, "entrypoint.sh");

    [Theory]
    [InlineData("JOB_COMPLETION_INDEX=2,SHARD_COUNT=8", "predict --shard 2/8 in -o out")]
    [InlineData("SLURM_ARRAY_TASK_ID=5,SLURM_ARRAY_TASK_COUNT=16", "predict --shard 5/16 in -o out")]
    [InlineData("SLURM_ARRAY_TASK_ID=11,SLURM_ARRAY_TASK_MIN=10,SLURM_ARRAY_TASK_COUNT=4", "predict --shard 1/4 in -o out")]
    [InlineData("SLURM_ARRAY_TASK_ID=3,SLURM_ARRAY_TASK_COUNT=16,SHARD_COUNT=4", "predict --shard 3/4 in -o out")]
    [InlineData("SHARD_INDEX=0,SHARD_COUNT=1", "predict --shard 0/1 in -o out")]
    [InlineData("", "predict in -o out")]
    public void Entrypoint_maps_the_task_index_to_a_shard(string env, string expected)
    {
        var vars = env.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => v.Split('=')).ToDictionary(v => v[0], v => v[1]);
        vars["MOBILEUNET_CMD"] = "echo";
        var r = Bash(Entrypoint, vars, "in", "-o", "out");
        Assert.True(r.Code == 0, r.Stderr);
        Assert.Equal(expected, r.Stdout);
    }

    [Theory]
    [InlineData("JOB_COMPLETION_INDEX=2")]
    [InlineData("JOB_COMPLETION_INDEX=x,SHARD_COUNT=4")]
    public void Entrypoint_refuses_an_index_without_a_count_or_not_a_number(string env)
    {
        var vars = env.Split(',').Select(v => v.Split('=')).ToDictionary(v => v[0], v => v[1]);
        vars["MOBILEUNET_CMD"] = "echo";
        var r = Bash(Entrypoint, vars, "in");
        Assert.Equal(2, r.Code);
        Assert.StartsWith("error:", r.Stderr);
    }

    [Fact]
    public void Entrypoint_runs_the_real_program_on_its_shard()
    {
        var input = TestData.TempDir();
        BatchFixtures.WritePhotos(input, 4, 48, 32);
        var outDir = Path.Combine(TestData.TempDir(), "out");
        var dll = Path.Combine(AppContext.BaseDirectory, "MobileUNet.Cli.dll");
        var r = Bash(Entrypoint, new() { ["JOB_COMPLETION_INDEX"] = "1", ["SHARD_COUNT"] = "2", ["MOBILEUNET_CMD"] = $"dotnet {dll}" },
            "-m", BatchFixtures.Model, input, "-o", outDir, "--output-kind", "mask");
        Assert.True(r.Code == 0, r.Stderr);
        Assert.Equal(["photo001.jpg.mask.png", "photo003.jpg.mask.png"], Directory.GetFiles(outDir, "*.png").Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal));
        Assert.True(File.Exists(Path.Combine(outDir, "manifest-1-of-2.jsonl")));
    }

    [Fact]
    public void Slurm_script_passes_its_array_task_to_the_entrypoint()
    {
        var r = Bash(Path.Combine(Deploy, "slurm-array.sh"), new()
        {
            ["SLURM_ARRAY_TASK_ID"] = "7",
            ["SLURM_ARRAY_TASK_COUNT"] = "16",
            ["SLURM_SUBMIT_DIR"] = Path.GetDirectoryName(Deploy)!,
            ["MOBILEUNET_CMD"] = "echo",
        }, "/shared/in", "/shared/out");
        Assert.True(r.Code == 0, r.Stderr);
        Assert.Equal("predict --shard 7/16 /shared/in -o /shared/out --threads 1", r.Stdout);
        var header = File.ReadAllLines(Path.Combine(Deploy, "slurm-array.sh")).Single(l => l.StartsWith("#SBATCH --array=", StringComparison.Ordinal));
        Assert.Equal("#SBATCH --array=0-15", header);
    }

    [Fact]
    public void Kubernetes_job_is_indexed_and_its_shard_count_matches_its_completions()
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(Deploy, "job.yaml"))) yaml.Load(reader);
        var root = (YamlMappingNode)yaml.Documents.Single().RootNode;
        Assert.Equal("batch/v1", Scalar(root, "apiVersion"));
        Assert.Equal("Job", Scalar(root, "kind"));
        var spec = (YamlMappingNode)root["spec"];
        Assert.Equal("Indexed", Scalar(spec, "completionMode"));
        var completions = Scalar(spec, "completions");
        var pod = (YamlMappingNode)((YamlMappingNode)spec["template"])["spec"];
        Assert.Equal("Never", Scalar(pod, "restartPolicy"));
        Assert.Equal("true", Scalar((YamlMappingNode)pod["securityContext"], "runAsNonRoot"));
        var container = (YamlMappingNode)((YamlSequenceNode)pod["containers"]).Single();
        var env = ((YamlSequenceNode)container["env"]).Cast<YamlMappingNode>().ToDictionary(e => Scalar(e, "name"), e => Scalar(e, "value"));
        Assert.Equal(completions, env["SHARD_COUNT"]);
        var args = ((YamlSequenceNode)container["args"]).Select(a => ((YamlScalarNode)a).Value!).ToList();
        var mounts = ((YamlSequenceNode)container["volumeMounts"]).Cast<YamlMappingNode>().Select(m => Scalar(m, "mountPath")).ToList();
        // Input and output both live on a mounted volume.
        var output = args[args.IndexOf("-o") + 1];
        Assert.Contains(mounts, m => output.StartsWith(m + "/", StringComparison.Ordinal));
        Assert.Contains(args, a => a != output && mounts.Any(m => a.StartsWith(m + "/", StringComparison.Ordinal)) && !a.EndsWith(".onnx", StringComparison.Ordinal));
    }

    static string Scalar(YamlMappingNode node, string key) => ((YamlScalarNode)node[key]).Value!;
}
