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
            // A typo must not run silently with defaults (`--precison fp16` wrote fp32): unknown options are errors.
            config.UseStrictParsing();
            config.SetHelpProvider(new BranchHelpProvider(config.Settings));
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
            config.AddCommand<ImportCommand>("import")
                .WithDescription("Import a TFLite segmentation model (e.g. MediaPipe selfie) as an ONNX model with our metadata, for predict, eval, video, bench and data label.")
                .WithExample("import", "models/teachers/mediapipe-selfie/selfie_segmentation.tflite", "-o", "runs/mediapipe-selfie.onnx");
            config.AddCommand<VideoCommand>("video")
                .WithDescription("Segment a video file, image sequence or camera (/dev/videoN) through ffmpeg, pipelined; writes a mask, overlay, matte or background-replaced video.")
                .WithExample("video", "clip.mp4", "-o", "overlay.mp4")
                .WithExample("video", "clip.mp4", "-o", "blurred.mp4", "--kind", "Background", "--background", "blur:15", "--smooth", "0.6")
                .WithExample("video", "frames/*.png", "-o", "mask.mp4", "--kind", "Mask", "--model", "model.munet");
            config.AddCommand<VideoSampleCommand>("video-sample")
                .WithDescription("Write the repo's own licence-clean sample clip (moving figure over a gradient, 440 Hz tone).")
                .WithExample("video-sample", "-o", "clip.mp4");
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
            config.AddCommand<SweepCommand>("sweep")
                .WithDescription("Train and score every alpha x size config with one short schedule (a ranking, not final accuracy); writes accuracy.json for recommend. Resumable.")
                .WithExample("sweep")
                .WithExample("sweep", "--alphas", "0.5,0.25", "--sizes", "160,128", "--minutes-per-config", "2", "-o", "runs/sweep/small")
                .WithExample("sweep", "--data", "mydata", "--minutes", "60");
            config.AddCommand<TrainCommand>("train")
                .WithDescription("Train a MobileUNet (BCE + Dice, Adam/SGD, cosine/step schedule) with resumable checkpoints.")
                .WithExample("train", "--alpha", "0.5", "--size", "128", "--minutes", "6")
                .WithExample("train", "--data", "mydata", "--output", "runs/mine", "--resume");
            config.AddCommand<EvalCommand>("eval")
                .WithDescription("IoU, Dice, precision, recall and pixel accuracy of a model on a dataset (per image, mean, pooled).")
                .WithExample("eval", "runs/demo/best.munet", "--voc", "data/voc");
            config.AddCommand<PredictCommand>("predict")
                .WithDescription("Segment any number of photos (files, folders, globs, --list), streaming with bounded memory: mask, overlay, matte, cutout or json per photo; bad files skipped, resumable, --shard K/N.")
                .WithExample("predict", "-m", "runs/demo/best.munet", "data/demo", "-o", "runs/predict")
                .WithExample("predict", "-m", "model.onnx", "--list", "photos.txt", "-o", "out", "--output-kind", "cutout,json", "--shard", "0/4");
            config.AddCommand<ServeCommand>("serve")
                .WithDescription("HTTP service: POST /v1/segment (mask, cutout, json), micro-batched; /metrics, /healthz, /openapi.json; pages / (upload) and /camera (the model in the browser).")
                .WithExample("serve", "-m", "person", "--port", "8080")
                .WithExample("serve", "--untrained", "--alpha", "0.5", "--size", "128", "--max-batch", "8");
            config.AddCommand<DemoCommand>("demo")
                .WithDescription("The main job: train alpha 0.5 / 128 on the embedded data for a few minutes, evaluate, predict the demo photos.");
            config.AddBranch("data", data =>
            {
                data.SetDescription("Dataset tools.");
                data.AddCommand<SynthCommand>("synth")
                    .WithDescription("Write composites (cutouts over backgrounds) as a folder-pairs dataset.")
                    .WithExample("data", "synth", "-o", "runs/synth", "--count", "200", "--size", "128", "--seed", "7");
                data.AddCommand<LabelCommand>("label")
                    .WithDescription("Label photos with a teacher model (soft masks as a folder-pairs dataset) for distillation; resumable.")
                    .WithExample("data", "label", "-m", "selfie.onnx", "photos/", "-o", "runs/labelled");
            });
        });
        return app;
    }
}
