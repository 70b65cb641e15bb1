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
            config.AddCommand<TrainCommand>("train")
                .WithDescription("Train a MobileUNet (BCE + Dice, Adam/SGD, cosine/step schedule) with resumable checkpoints.")
                .WithExample("train", "--alpha", "0.5", "--size", "128", "--minutes", "6")
                .WithExample("train", "--data", "mydata", "--out", "runs/mine", "--resume");
            config.AddCommand<EvalCommand>("eval")
                .WithDescription("IoU, Dice, precision, recall and pixel accuracy of a model on a dataset (per image, mean, pooled).")
                .WithExample("eval", "runs/demo/best.munet", "--voc", "data/voc");
            config.AddCommand<PredictCommand>("predict")
                .WithDescription("Mask and overlay PNGs for an image or a folder of images.")
                .WithExample("predict", "runs/demo/best.munet", "data/demo", "-o", "runs/predict");
            config.AddCommand<DemoCommand>("demo")
                .WithDescription("The main job: train alpha 0.5 / 128 on the embedded data for a few minutes, evaluate, predict the demo photos.");
            config.AddBranch("data", data =>
            {
                data.SetDescription("Dataset tools.");
                data.AddCommand<SynthCommand>("synth")
                    .WithDescription("Write composites (cutouts over backgrounds) as a folder-pairs dataset.")
                    .WithExample("data", "synth", "-o", "runs/synth", "--count", "200", "--size", "128", "--seed", "7");
            });
        });
        return app;
    }
}
