using MobileUNet.Cli.Commands;
using Spectre.Console.Cli;

namespace MobileUNet.Cli;

/// <summary>The `mobileunet` command tree: thin commands over the library.</summary>
public static class CliApp
{
    public static CommandApp Create()
    {
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("mobileunet");
            config.PropagateExceptions();
            config.AddCommand<InfoCommand>("info")
                .WithDescription("Model facts for one alpha x size (per layer: kind, output shape, params, MACs), or the whole alpha x size grid.")
                .WithExample("info", "--alpha", "1", "--size", "224")
                .WithExample("info", "--alpha", "0.5", "--size", "128", "--upsampling", "BilinearConv", "--json")
                .WithExample("info", "--grid");
            config.AddBranch("bench", bench =>
            {
                bench.SetDescription("The speed study: latency of the alpha x size grid on every backend (JSON, CSV, Markdown, charts); `bench merge` compares machines.");
                bench.SetDefaultCommand<BenchCommand>();
                bench.AddCommand<BenchMergeCommand>("merge")
                    .WithDescription("Put several machines' bench.json side by side in one table and chart.")
                    .WithExample("bench", "merge", "laptop/bench.json", "phone/bench.json", "-o", "runs/bench/merged");
                bench.AddCommand<BenchReportCommand>("report")
                    .WithDescription("Redraw the tables and charts of a recorded bench.json (no timing).")
                    .WithExample("bench", "report", "runs/bench/latest/bench.json");
            });
            config.AddCommand<RecommendCommand>("recommend")
                .WithDescription("The most accurate configuration that meets a latency budget on a benched machine, with the Pareto chart.")
                .WithExample("recommend", "--bench", "bench.json", "--accuracy", "accuracy.json", "--fps", "30");
        });
        return app;
    }
}
