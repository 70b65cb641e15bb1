using MobileUNet.Inference;

namespace MobileUNet.Video;

/// <summary>One `mobileunet video` run's configuration.</summary>
public sealed record VideoJobOptions(
    string Input,
    string Output,
    OutputKind Kind = OutputKind.Overlay,
    BackgroundSpec? Background = null,
    double? Smoothing = null,
    float? Threshold = null,
    int QueueCapacity = 4,
    double SequenceFps = 25,
    long? MaxFrames = null,
    FfmpegTools? Tools = null,
    EncoderOptions? Encoder = null);

/// <summary>One stage's share of a run.</summary>
public sealed record StageReport(Stage Stage, long Frames, double BusySeconds, double Fps);

/// <summary>The JSON summary of a run.</summary>
public sealed record VideoReport(
    string Input,
    string Output,
    OutputKind Kind,
    int Width,
    int Height,
    double SourceFps,
    bool AudioPassedThrough,
    string Model,
    long Frames,
    bool Completed,
    /// <summary>From the first decode request to the finished file (encoder flush included).</summary>
    double WallSeconds,
    /// <summary>Waiting for the first decoded frame (ffmpeg starting); part of the wall time.</summary>
    double StartupSeconds,
    /// <summary>Frames over the wall time after startup: the sustained rate.</summary>
    double EndToEndFps,
    IReadOnlyList<StageReport> Stages,
    Stage Bottleneck,
    double BottleneckFps,
    /// <summary>End-to-end FPS over the slowest stage's FPS: 1 is perfect overlap.</summary>
    double PipelineEfficiency,
    double? Smoothing,
    double FlickerRaw,
    double? FlickerSmoothed,
    int QueueCapacity,
    int PoolFrames,
    /// <summary>Frames the input should have given (null when unknown: cameras, some streams).</summary>
    long? ExpectedFrames = null,
    /// <summary>Why the output is shorter or damaged (a truncated input, a decode error); null when the input decoded cleanly.</summary>
    string? Problem = null);

/// <summary>
/// Runs a whole video: probe, decode with ffmpeg, the frame pipeline over any <see cref="ISegmenter"/>, encode
/// with ffmpeg into a temp file renamed into place at the end. The segmenter is handed in, so the runtime
/// behind it (ONNX Runtime by default, TorchSharp on request) is the caller's choice.
/// </summary>
public sealed class VideoJob
{
    readonly VideoJobOptions options;
    readonly FfmpegTools tools;

    public VideoJob(VideoJobOptions options)
    {
        this.options = options;
        tools = options.Tools ?? FfmpegTools.Default;
        if (options.QueueCapacity < 1) throw new ArgumentException("the queue capacity must be at least 1");
        if (options.Smoothing is < 0 or >= 1) throw new ArgumentException("smoothing momentum must be in [0, 1)");
        Input = VideoInput.Parse(options.Input, options.SequenceFps);
        Probe = VideoProbe.Run(tools, Input);
    }

    public VideoInput Input { get; }
    public VideoProbe Probe { get; }

    /// <summary>Frames expected (null when unknown: cameras), capped by <see cref="VideoJobOptions.MaxFrames"/>.</summary>
    public long? ExpectedFrames => options.MaxFrames is { } m ? Math.Min(m, Probe.FrameCount ?? m) : Probe.FrameCount;

    /// <summary>Set once <see cref="Run"/> has built its pipeline; the progress display reads it.</summary>
    public PipelineStats? Stats { get; private set; }

    public VideoReport Run(ISegmenter segmenter, string modelLabel, CancellationToken stop = default)
    {
        int w = Probe.Width, h = Probe.Height;
        byte[]? backgroundImage = options.Kind == OutputKind.Background && options.Background is { Kind: BackgroundKind.Image, ImagePath: { } img }
            ? StillImage.DecodeRgb(tools, img, w, h) : null;
        // Unless given, the threshold is the one the model records.
        float threshold = options.Threshold ?? segmenter.Threshold;
        var composer = new FrameComposer(options.Kind, w, h, threshold, options.Background, backgroundImage);
        var processor = new FrameProcessor(segmenter, composer, w, h, options.Smoothing, threshold);
        var pipeline = new FramePipeline(processor, new PipelineOptions(options.QueueCapacity));
        Stats = pipeline.Stats;

        using var encoder = new FfmpegEncoder(tools, options.Output, w, h, Probe.Fps, Probe.HasAudio ? Input.InputArguments() : null, options.Encoder);
        bool completed;
        string? problem;
        var wall = System.Diagnostics.Stopwatch.StartNew();
        using (var decoder = new FfmpegDecoder(tools, Input, Probe))
        {
            IFrameSource source = options.MaxFrames is { } max ? new LimitedSource(decoder, max) : decoder;
            completed = pipeline.RunAsync(source, encoder, stop).GetAwaiter().GetResult();
            problem = decoder.Problem;
        }
        if (pipeline.Stats.FramesDone == 0)
            throw new InvalidDataException($"{Input}: decoded no frames");
        encoder.Complete();
        wall.Stop();

        var stats = pipeline.Stats;
        var bottleneck = stats.Bottleneck;
        // A run that was not stopped must have every frame the container promised; fewer is a truncated input.
        if (completed && ExpectedFrames is { } expected && stats.FramesDone < expected)
            problem = $"decoded {stats.FramesDone} of {expected} frames" + (problem is null ? " (the input ends early: truncated?)" : $" ({problem})");
        // MPEG-TS records no frame count and ffmpeg decodes a cut-off stream without a word; but a whole stream is
        // a whole number of 188-byte packets, so a remainder means the file was cut.
        if (completed && problem is null && TruncatedTransportStream(Input) is { } remainder)
            problem = $"decoded {stats.FramesDone} frames, but the MPEG-TS file ends {remainder} bytes into a 188-byte packet (truncated)";
        double sustained = stats.FramesDone / Math.Max(1e-9, wall.Elapsed.TotalSeconds - stats.Startup.TotalSeconds);
        return new VideoReport(
            Input.ToString(), encoder.OutputPath, options.Kind, w, h, Probe.Fps, Probe.HasAudio, modelLabel,
            stats.FramesDone, completed, wall.Elapsed.TotalSeconds, stats.Startup.TotalSeconds, sustained,
            stats.Stages.Select(s => new StageReport(s.Stage, s.Frames, s.Busy.TotalSeconds, s.Fps)).ToList(),
            bottleneck.Stage, bottleneck.Fps, bottleneck.Fps > 0 ? sustained / bottleneck.Fps : 0,
            options.Smoothing, processor.RawFlicker.Flicker, processor.SmoothedFlicker?.Flicker,
            options.QueueCapacity, pipeline.Pool.Size, ExpectedFrames, problem);
    }

    static long? TruncatedTransportStream(VideoInput input)
    {
        if (input.Kind != VideoInputKind.File || !File.Exists(input.Path)) return null;
        var ext = Path.GetExtension(input.Path).ToLowerInvariant();
        if (ext is not (".ts" or ".mts" or ".m2ts")) return null;
        // M2TS packets carry a 4-byte timestamp in front: 192 bytes.
        long packet = ext == ".ts" ? 188 : 192, remainder = new FileInfo(input.Path).Length % packet;
        return remainder == 0 ? null : remainder;
    }

    sealed class LimitedSource(IFrameSource inner, long max) : IFrameSource
    {
        long read;
        public int Width => inner.Width;
        public int Height => inner.Height;
        public bool ReadFrame(Span<byte> rgb) => read++ < max && inner.ReadFrame(rgb);
    }
}

/// <summary>Decodes one still image to RGB24 at a given size, with ffmpeg (no image library needed).</summary>
internal static class StillImage
{
    public static byte[] DecodeRgb(FfmpegTools tools, string path, int width, int height)
    {
        using var process = FfmpegTools.Start(tools.Ffmpeg,
            ["-hide_banner", "-loglevel", "error", "-nostdin", "-i", path, "-frames:v", "1",
             "-vf", $"scale={width}:{height}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]);
        var stderr = new StderrTail(process);
        var rgb = new byte[width * height * 3];
        int read = process.StandardOutput.BaseStream.ReadAtLeast(rgb, rgb.Length, throwOnEndOfStream: false);
        process.WaitForExit();
        if (read != rgb.Length) throw new InvalidDataException($"{path}: not a readable image ({stderr.Text(1)})");
        return rgb;
    }
}
