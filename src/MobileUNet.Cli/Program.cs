using MobileUNet.Cli;
using MobileUNet.Cli.Commands;
using Spectre.Console;
using Spectre.Console.Cli;

// Piped output (CI logs, files) gets full-width tables instead of Spectre's 80-column default.
if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 200;

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
});
return CliErrors.Run(app, args);
