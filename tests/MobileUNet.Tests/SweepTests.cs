using MobileUNet.Benchmarks;
using MobileUNet.Model;
using MobileUNet.Evaluation;

namespace MobileUNet.Tests;

/// <summary>`mobileunet sweep` on the embedded data, then `recommend` on its accuracy.json and a real bench.json.</summary>
public class SweepTests
{
    static readonly string[] TinySweep = ["sweep", "--alphas", "0.25", "--sizes", "32,64", "--epochs", "1", "--steps", "2", "--batch", "2", "--val-count", "4"];

    [Fact]
    public void Sweep_writes_one_scored_record_per_config_resumes_and_feeds_recommend()
    {
        var dir = TestData.TempDir();
        var sweepDir = Path.Combine(dir, "sweep");
        var r = Cli.Run([.. TinySweep, "-o", sweepDir]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var accuracyPath = Path.Combine(sweepDir, "accuracy.json");
        var doc = AccuracyDocument.Load(accuracyPath);
        Assert.Equal([new ModelSpec(0.25, 32), new ModelSpec(0.25, 64)], doc.Results.Select(x => x.Spec));
        Assert.All(doc.Results, x =>
        {
            Assert.InRange(x.Iou, 0, 1);
            Assert.NotNull(x.Dice);
            Assert.True(File.Exists(Path.Combine(sweepDir, x.Weights!)), x.Weights);
            Assert.Equal(x.Spec, WeightsFormat.ReadHeader(Path.Combine(sweepDir, x.Weights!)).Spec);
        });

        // A second run on the same folder skips the scored configs and leaves their results as they were.
        var before = File.ReadAllText(accuracyPath);
        var again = Cli.Run([.. TinySweep, "-o", sweepDir]);
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Contains("skipped", again.Stdout);
        Assert.Equal(before, File.ReadAllText(accuracyPath));

        var benchDir = Path.Combine(dir, "bench");
        var bench = Cli.Run("bench", "--backend", "torch", "--alphas", "0.25", "--sizes", "32,64", "--threads", "1", "--budget-seconds", "0.2", "-o", benchDir);
        Assert.True(bench.ExitCode == 0, bench.Stderr);
        var recDir = Path.Combine(dir, "rec");
        var rec = Cli.Run("recommend", "--bench", Path.Combine(benchDir, "bench.json"), "--accuracy", accuracyPath, "--fps", "30", "-o", recDir);
        Assert.True(rec.ExitCode == 0, rec.Stderr);
        Assert.True(rec.Stdout.Contains("Recommended for 30 FPS") || rec.Stdout.Contains("No configuration meets 30 FPS"), rec.Stdout);
        Assert.True(File.Exists(Path.Combine(recDir, "recommendation.json")));
        Assert.True(File.Exists(Path.Combine(recDir, "pareto.png")));
    }

    [Fact]
    public void Bad_grid_is_one_error_line_and_writes_nothing()
    {
        var sweepDir = Path.Combine(TestData.TempDir(), "sweep");
        var r = Cli.Run("sweep", "--alphas", "0.25,x", "--sizes", "32", "-o", sweepDir);
        Assert.NotEqual(0, r.ExitCode);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error:", line);
        Assert.Contains("--alphas", line);
        Assert.False(Directory.Exists(sweepDir));
    }

    [Theory]
    [InlineData("sweep", "a ranking, not final accuracy")]
    [InlineData("train", "--voc <DIR>")]
    [InlineData("eval", "--voc <DIR>")]
    [InlineData("recommend", "--accuracy <FILE>")]
    [InlineData("export", "--alpha")]
    [InlineData("video", "--background")]
    [InlineData("demo", "--minutes")]
    public void Help_renders(string command, string mustShow)
    {
        // Option descriptions are Spectre markup: an unescaped "[PNG]" or "(0, 1]" once made --help itself fail.
        var r = Cli.Run(command, "--help");
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        Assert.Contains(mustShow, r.Stdout);
    }
}
