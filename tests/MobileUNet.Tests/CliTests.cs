using System.Diagnostics;
using System.Text.Json;

namespace MobileUNet.Tests;

/// <summary>Runs the real `mobileunet` program (the CLI assembly beside the tests) as a child process.</summary>
public static class Cli
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "MobileUNet.Cli.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}

public class CliTests
{
    [Fact]
    public void Info_json_reports_totals()
    {
        var r = Cli.Run("info", "--alpha", "1", "--size", "224", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal(6_740_321, doc.RootElement.GetProperty("parameters").GetInt64());
        Assert.Equal(1_764_112_896, doc.RootElement.GetProperty("macs").GetInt64());
        Assert.Equal(30, doc.RootElement.GetProperty("layers").GetArrayLength());
    }

    [Fact]
    public void Info_table_prints_layers_and_totals()
    {
        var r = Cli.Run("info", "--alpha", "0.5", "--size", "128");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("b18", r.Stdout);
        Assert.Contains("1,529,785", r.Stdout);
    }

    [Theory]
    [InlineData("--alpha", "0")]
    [InlineData("--size", "100")]
    public void Info_refuses_bad_specs_with_one_line(string option, string value)
    {
        var r = Cli.Run("info", option, value);
        Assert.NotEqual(0, r.ExitCode);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error:", line);
    }

    [Fact]
    public void Info_grid_json_covers_every_config()
    {
        var r = Cli.Run("info", "--grid", "--alphas", "1,0.5", "--sizes", "224,128", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal(4, doc.RootElement.GetArrayLength());
    }
}

public class CliHelpTests
{
    [Theory]
    [InlineData("--help")]
    [InlineData("info", "--help")]
    [InlineData("import", "--help")]
    public void Help_renders(params string[] args)
    {
        var r = Cli.Run(args);
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        Assert.Contains("USAGE", r.Stdout);
        Assert.Empty(r.Stderr);
    }

    [Fact]
    public void Bench_help_lists_the_bench_options_and_its_subcommands()
    {
        var r = Cli.Run("bench", "--help");
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        foreach (var option in new[] { "--alphas", "--sizes", "--backend", "--ep", "--threads", "--budget-seconds", "--parts", "--output" })
            Assert.Contains(option, r.Stdout);
        Assert.Contains("merge", r.Stdout);
        Assert.Contains("report", r.Stdout);
    }

    [Fact]
    public void Bench_merge_help_lists_its_own_options_only()
    {
        var r = Cli.Run("bench", "merge", "--help");
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        Assert.Contains("BENCH_JSON", r.Stdout);
        Assert.DoesNotContain("--alphas", r.Stdout);
    }

    [Theory]
    [InlineData("predict")]
    [InlineData("eval")]
    [InlineData("video")]
    [InlineData("serve")]
    public void Every_model_running_command_takes_threads_ep_and_threshold(string command)
    {
        var r = Cli.Run(command, "--help");
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        foreach (var option in new[] { "--threads <N>", "--ep <PROVIDER>", "--threshold <T>" })
            Assert.Contains(option, r.Stdout);
    }

    [Theory]
    [InlineData("predict", "photo.png")]
    [InlineData("eval")]
    [InlineData("serve")]
    public void An_unknown_execution_provider_is_refused_naming_it(params string[] args)
    {
        var r = Cli.Run([.. args, "--ep", "tpu"]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--ep tpu", r.Stderr);
    }
}
