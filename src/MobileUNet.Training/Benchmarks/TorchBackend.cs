using MobileUNet.Inference;
using MobileUNet.Model;
using MobileUNet.Platform;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileUNet.Benchmarks;

/// <summary>
/// TorchSharp eager (libtorch, CPU): the training runtime, timed for comparison. Each runner holds its model
/// in eval mode and its input tensor, allocated once; every call runs without autograd inside a dispose scope
/// so its outputs are freed before the next call.
/// </summary>
internal sealed class TorchBackend : IBenchBackend
{
    public TorchBackend() => TorchNativeLoader.EnsureLoadable();

    public string Name => BenchBackends.NameOf(Backend.Torch);
    public string ExecutionProvider => "cpu";
    public string RuntimeName => "libtorch";
    public string RuntimeVersion => torch.__version__;

    public IBenchRunner Prepare(BenchModel model, BenchPart part, int batch, int threads)
    {
        CheckCounts(batch, threads);
        if (model.Precision != Export.OnnxPrecision.Fp32 || model.TransposedConv is not null)
            throw new ArgumentException($"{model.Label}: the torch backend runs the torch modules in fp32; precision and transposed-conv form are choices of an exported ONNX graph (the onnx backend).");
        var net = Load(model);
        return new ModelRunner(net, part, batch, threads);
    }

    public IBenchRunner PrepareBlock(BlockShape shape, BlockKind kind, int batch, int threads)
    {
        CheckCounts(batch, threads);
        nn.Module<Tensor, Tensor> block = kind == BlockKind.Conv
            ? new ConvBlock(shape.Stage, shape.InChannels, shape.OutChannels, shape.Stride)
            : new DepthwiseBlock(shape.Stage, shape.InChannels, shape.OutChannels, shape.Stride);
        return new BlockRunner(block, shape, batch, threads);
    }

    public void Dispose() { }

    static Model.MobileUNet Load(BenchModel model)
    {
        if (model.WeightsPath is null) return new Model.MobileUNet(model.Spec);
        if (!model.WeightsPath.EndsWith(".munet", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"{model.WeightsPath}: the torch backend runs .munet weights files only.");
        var (net, _) = WeightsFile.Load(model.WeightsPath);
        if (model.Spec != net.Spec)
        {
            // The decoder variants are timed on untrained weights of another upsampling: the file's weights do not fit.
            net.Dispose();
            return new Model.MobileUNet(model.Spec);
        }
        return net;
    }

    static void CheckCounts(int batch, int threads)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), $"Batch must be at least 1, got {batch}.");
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), $"Threads must be at least 1, got {threads}.");
    }

    sealed class ModelRunner : IBenchRunner
    {
        readonly Model.MobileUNet net;
        readonly BenchPart part;
        readonly Tensor input;
        readonly EncoderFeatures? features;

        public ModelRunner(Model.MobileUNet net, BenchPart part, int batch, int threads)
        {
            this.net = net;
            this.part = part;
            net.eval();
            TorchNativeLoader.SetThreads(threads);
            int s = net.Spec.InputSize;
            input = randn(batch, 3, s, s);
            if (part == BenchPart.Decoder)
            {
                using var _ = no_grad();
                features = net.Encoder.forward(input);
            }
        }

        public void RunOnce()
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            switch (part)
            {
                case BenchPart.Model: net.forward(input); break;
                case BenchPart.Encoder: net.Encoder.forward(input); break;
                default: net.Decoder.forward(features!); break;
            }
        }

        public IReadOnlyList<long[]> RunAndShapes()
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            return part switch
            {
                BenchPart.Model => [net.forward(input).shape],
                BenchPart.Encoder => [.. net.Encoder.forward(input).All.Select(t => t.shape)],
                _ => [net.Decoder.forward(features!).shape],
            };
        }

        public void Dispose()
        {
            features?.Dispose();
            input.Dispose();
            net.Dispose();
        }
    }

    sealed class BlockRunner : IBenchRunner
    {
        readonly nn.Module<Tensor, Tensor> block;
        readonly Tensor input;

        public BlockRunner(nn.Module<Tensor, Tensor> block, BlockShape shape, int batch, int threads)
        {
            this.block = block;
            block.eval();
            TorchNativeLoader.SetThreads(threads);
            input = randn(batch, shape.InChannels, shape.InputSize, shape.InputSize);
        }

        public void RunOnce()
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            block.forward(input);
        }

        public IReadOnlyList<long[]> RunAndShapes()
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            return [block.forward(input).shape];
        }

        public void Dispose()
        {
            input.Dispose();
            block.Dispose();
        }
    }
}
