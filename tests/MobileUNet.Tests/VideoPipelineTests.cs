using System.Globalization;
using MobileUNet.Inference;
using MobileUNet.Model;
using MobileUNet.Video;
using MobileUNet.Data;

namespace MobileUNet.Tests;

/// <summary>The frame pipeline on in-memory frames with a real (tiny, untrained) TorchSharp segmenter.</summary>
public class VideoPipelineTests
{
    const int W = 48, H = 40;

    static ISegmenter TinySegmenter()
    {
        Torch.EnsureReady();
        TorchSharp.torch.manual_seed(1);
        return new TorchSegmenter(new Model.MobileUNet(new ModelSpec(0.25, 32)), Normalization.ImageNet, ownsModel: true);
    }

    /// <summary>Frames whose content depends on their index, so a swapped or dropped frame changes the output.</summary>
    sealed class NumberedSource(int count, Action<int>? onRead = null) : IFrameSource
    {
        int next;
        public int Width => W;
        public int Height => H;
        public int Read => next;

        public bool ReadFrame(Span<byte> rgb)
        {
            if (next >= count) return false;
            Fill(rgb, next);
            onRead?.Invoke(next);
            next++;
            return true;
        }

        public static void Fill(Span<byte> rgb, int index)
        {
            var rng = new Random(index);
            for (int i = 0; i < W * H * 3; i++) rgb[i] = (byte)rng.Next(256);
        }
    }

    sealed class CollectingSink(Action<long>? onWrite = null) : IFrameSink
    {
        public List<(long Index, byte[] Rgb)> Frames { get; } = [];

        public void WriteFrame(ReadOnlySpan<byte> rgb, long index)
        {
            onWrite?.Invoke(index);
            Frames.Add((index, rgb[..(W * H * 3)].ToArray()));
        }
    }

    [Fact]
    public async Task Frames_come_out_in_order_and_equal_sequential_processing()
    {
        using var segmenter = TinySegmenter();
        const int n = 20;
        var sink = new CollectingSink();
        var processor = new FrameProcessor(segmenter, new FrameComposer(OutputKind.Overlay, W, H), W, H, smoothing: 0.5);
        var pipeline = new FramePipeline(processor, new PipelineOptions(QueueCapacity: 2));
        Assert.True(await pipeline.RunAsync(new NumberedSource(n), sink));

        Assert.Equal(Enumerable.Range(0, n).Select(i => (long)i), sink.Frames.Select(f => f.Index));
        // The same frames through the same steps one at a time (smoothing state included) must match byte for byte.
        var reference = new FrameProcessor(segmenter, new FrameComposer(OutputKind.Overlay, W, H), W, H, smoothing: 0.5);
        var frame = reference.CreateFrame();
        for (int i = 0; i < n; i++)
        {
            NumberedSource.Fill(frame.Rgb, i);
            reference.PreProcess(frame);
            reference.Infer(frame);
            reference.PostProcess(frame);
            Assert.True(frame.Rgb.AsSpan().SequenceEqual(sink.Frames[i].Rgb), $"frame {i} differs from sequential processing");
        }
        Assert.Equal(n, pipeline.Stats.FramesDone);
        Assert.All(pipeline.Stats.Stages, s => Assert.Equal(n, s.Frames));
    }

    [Fact]
    public async Task Slow_encoder_blocks_the_decoder_and_frames_in_flight_stay_within_the_pool()
    {
        using var segmenter = TinySegmenter();
        const int n = 40;
        int written = 0, maxInFlight = 0;
        var source = new NumberedSource(n, read => maxInFlight = Math.Max(maxInFlight, read + 1 - Volatile.Read(ref written)));
        // The sink is far slower than every other stage, even on a loaded CI machine, so the pipeline must back up.
        var sink = new CollectingSink(_ => { Thread.Sleep(15); Interlocked.Increment(ref written); });
        var processor = new FrameProcessor(segmenter, new FrameComposer(OutputKind.Mask, W, H), W, H, smoothing: null);
        var pipeline = new FramePipeline(processor, new PipelineOptions(QueueCapacity: 1));
        Assert.Equal(9, pipeline.Pool.Size);   // 5 stages + 4 queues of 1

        Assert.True(await pipeline.RunAsync(source, sink));

        Assert.Equal(n, sink.Frames.Count);
        // The decoder could read ahead only as far as the pool allows, and it did fill the pool (it was blocked, not idle).
        Assert.InRange(maxInFlight, pipeline.Pool.Size - 2, pipeline.Pool.Size);
        Assert.Equal(pipeline.Pool.Size, pipeline.Pool.Available);   // every frame came back
    }

    [Fact]
    public async Task Stopping_ends_decoding_and_drains_every_decoded_frame()
    {
        using var segmenter = TinySegmenter();
        using var stop = new CancellationTokenSource();
        var source = new NumberedSource(1000, read => { if (read == 9) stop.Cancel(); });
        var sink = new CollectingSink();
        var processor = new FrameProcessor(segmenter, new FrameComposer(OutputKind.Matte, W, H), W, H, smoothing: null);
        var pipeline = new FramePipeline(processor);

        Assert.False(await pipeline.RunAsync(source, sink, stop.Token));

        Assert.Equal(source.Read, sink.Frames.Count);
        Assert.InRange(sink.Frames.Count, 10, 11);
        Assert.Equal(Enumerable.Range(0, sink.Frames.Count).Select(i => (long)i), sink.Frames.Select(f => f.Index));
    }

    [Fact]
    public async Task A_failing_stage_fails_the_run_with_its_own_error()
    {
        using var segmenter = TinySegmenter();
        var sink = new CollectingSink(i => { if (i == 3) throw new IOException("disk full"); });
        var processor = new FrameProcessor(segmenter, new FrameComposer(OutputKind.Mask, W, H), W, H, smoothing: null);
        var pipeline = new FramePipeline(processor, new PipelineOptions(QueueCapacity: 1));

        var e = await Assert.ThrowsAsync<IOException>(() => pipeline.RunAsync(new NumberedSource(500), sink));
        Assert.Equal("disk full", e.Message);
    }

    [Theory]
    [InlineData(OutputKind.Overlay)]
    [InlineData(OutputKind.Background)]
    public void A_frame_through_every_stage_allocates_nothing(OutputKind kind)
    {
        using var segmenter = OnnxSegmenter.Open(BatchFixtures.Model, new RuntimeOptions { Threads = 1, AllowSpinning = false });
        var processor = new FrameProcessor(segmenter, new FrameComposer(kind, W, H), W, H, smoothing: 0.5);
        var frame = processor.CreateFrame();
        var decoded = Enumerable.Range(0, 6).Select(i => { var rgb = new byte[W * H * 3]; NumberedSource.Fill(rgb, i); return rgb; }).ToArray();
        void Process(int index)
        {
            decoded[index].CopyTo(frame.Rgb, 0);
            processor.PreProcess(frame);
            processor.Infer(frame);
            processor.PostProcess(frame);
        }
        Process(0);
        long allocated = Allocations.Fewest(() => { for (int i = 1; i <= 5; i++) Process(i); });
        Assert.True(allocated < 1024, $"5 frames allocated {allocated} managed bytes");
    }

    [Fact]
    public void A_frame_gets_the_mask_and_overlay_pixels_that_predict_gives_the_same_photo()
    {
        // The same pixels as a photo file (RGBA PNG) and as a video frame (RGB), of neither the model's size nor its aspect.
        var photo = ImageFile.Read(Directory.GetFiles(TestData.Backgrounds, "*.jpg").Order(StringComparer.Ordinal).First()).Resize(2 * W, 2 * H);
        int w = photo.Width, h = photo.Height, n = w * h;
        var dir = TestData.TempDir();
        var photoPath = Path.Combine(dir, "frame.png");
        ImageFile.WritePng(photoPath, photo);
        using var segmenter = OnnxSegmenter.Open(BatchFixtures.Model, new RuntimeOptions { Threads = 1 });
        // The tiny model is untrained: a threshold at its median probability makes both mask values occur.
        var probabilities = ImageSegmentation.Probabilities(segmenter, photo);
        float threshold = probabilities.Order().ElementAt(n / 2);

        var outDir = Path.Combine(dir, "predict");
        var r = Cli.Run("predict", "-m", BatchFixtures.Model, photoPath, "-o", outDir, "--threads", "1",
                        "--threshold", threshold.ToString("R", CultureInfo.InvariantCulture));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var predictMask = ImageFile.Read(Path.Combine(outDir, "frame.png.mask.png")).Pixels;
        var predictOverlay = ImageFile.Read(Path.Combine(outDir, "frame.png.overlay.png")).Pixels;

        byte[] Video(OutputKind kind)
        {
            var processor = new FrameProcessor(segmenter, new FrameComposer(kind, w, h, threshold), w, h, smoothing: null, threshold);
            var frame = processor.CreateFrame();
            for (int i = 0; i < n; i++) photo.Pixels.AsSpan(i * 4, 3).CopyTo(frame.Rgb.AsSpan(i * 3));
            processor.PreProcess(frame);
            processor.Infer(frame);
            processor.PostProcess(frame);
            return frame.Rgb;
        }
        var videoMask = Video(OutputKind.Mask);
        var videoOverlay = Video(OutputKind.Overlay);

        static byte[] Rgb(byte[] rgba)
        {
            var rgb = new byte[rgba.Length / 4 * 3];
            for (int i = 0; i < rgba.Length / 4; i++) rgba.AsSpan(i * 4, 3).CopyTo(rgb.AsSpan(i * 3));
            return rgb;
        }
        Assert.Equal(Rgb(predictMask), videoMask);
        Assert.Equal(Rgb(predictOverlay), videoOverlay);
        Assert.InRange(videoMask.Count(v => v == 255) / 3, n / 4, 3 * n / 4);
        // And the one-photo library path (eval, serve, the sample) draws them too.
        Assert.Equal(predictMask.Where((_, i) => i % 4 == 0), ImageSegmentation.MaskBytes(probabilities, threshold));
        Assert.Equal(predictOverlay, ImageSegmentation.Overlay(photo, probabilities, threshold).Pixels);
    }
}

public class TemporalStabilityTests
{
    [Fact]
    public void Ema_starts_at_the_first_frame_then_mixes_by_momentum()
    {
        var smoother = new TemporalSmoother(2, momentum: 0.6);
        var outp = new float[2];
        smoother.Apply([0f, 1f], outp);
        Assert.Equal([0f, 1f], outp);
        smoother.Apply([1f, 1f], outp);
        Assert.Equal(0.4f, outp[0], 5);
        Assert.Equal(1f, outp[1], 5);
        smoother.Apply([1f, 0f], outp);
        Assert.Equal(0.6f * 0.4f + 0.4f, outp[0], 5);
        Assert.Equal(0.6f, outp[1], 5);
    }

    [Fact]
    public void Ema_momentum_out_of_range_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TemporalSmoother(1, 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TemporalSmoother(1, -0.1));
    }

    [Fact]
    public void Flicker_is_the_mean_fraction_of_flipped_mask_pixels()
    {
        var meter = new FlickerMeter(4);
        meter.Add([0.9f, 0.1f, 0.1f, 0.1f]);
        Assert.Equal(0, meter.Flicker);                 // one frame: no pair yet
        meter.Add([0.9f, 0.9f, 0.1f, 0.1f]);            // 1 of 4 flips
        meter.Add([0.1f, 0.1f, 0.9f, 0.9f]);            // all 4 flip
        Assert.Equal(2, meter.Pairs);
        Assert.Equal((0.25 + 1.0) / 2, meter.Flicker, 10);
    }

    [Fact]
    public void Smoothing_removes_the_flicker_of_a_mask_hovering_at_the_threshold()
    {
        // A pixel alternating 0.3 / 0.6 flips every frame; its EMA settles near 0.45 +- 0.04, below 0.5.
        var raw = new FlickerMeter(1);
        var smooth = new FlickerMeter(1);
        var smoother = new TemporalSmoother(1, 0.6);
        var s = new float[1];
        for (int t = 0; t < 20; t++)
        {
            float[] p = [t % 2 == 0 ? 0.3f : 0.6f];
            raw.Add(p);
            smoother.Apply(p, s);
            smooth.Add(s);
        }
        Assert.Equal(1.0, raw.Flicker, 10);
        Assert.Equal(0.0, smooth.Flicker, 10);
    }
}
