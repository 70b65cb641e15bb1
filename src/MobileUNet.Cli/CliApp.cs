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
            config.AddCommand<ExportCommand>("export")
                .WithDescription("Write an ONNX model (opset 17; fp32, fp16 or int8 QDQ; full, encoder or decoder) for ONNX Runtime and phone runtimes.")
                .WithExample("export", "model.munet", "-o", "model.onnx")
                .WithExample("export", "--untrained", "--alpha", "0.5", "--size", "128", "-o", "a05-128.onnx")
                .WithExample("export", "model.munet", "--precision", "int8", "--calibration", "images/", "-o", "model-int8.onnx");
        });
        return app;
    }
}
