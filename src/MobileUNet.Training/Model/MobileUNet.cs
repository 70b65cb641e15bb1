using TorchSharp;
using static TorchSharp.torch;

namespace MobileUNet.Model;

/// <summary>
/// MobileUNet (2017): a MobileNet v1 encoder and a U-Net decoder with transposed-convolution upsampling,
/// scaled by alpha and input size. <c>forward</c> maps images [N,3,S,S] to mask logits [N,1,S,S].
/// The encoder and decoder are public so the speed study can time them apart.
/// </summary>
public sealed class MobileUNet : NativeModule<Tensor, Tensor>
{
    readonly MobileNetEncoder encoder;
    readonly UNetDecoder decoder;

    public MobileUNet(ModelSpec spec) : base(NameFor(spec))
    {
        Spec = spec;
        encoder = new MobileNetEncoder(spec);
        decoder = new UNetDecoder(spec);
        RegisterComponents();
    }

    /// <summary>A model whose initial weights depend on <paramref name="seed"/> alone (<see cref="SeededInit"/>).</summary>
    public MobileUNet(ModelSpec spec, long seed) : this(spec) => SeededInit.Apply(this, seed);

    public ModelSpec Spec { get; }

    // Checked before the native module exists: another architecture (an imported ONNX model) has no torch build.
    static string NameFor(ModelSpec spec) => spec.IsMobileUNet
        ? "mobileunet"
        : throw new ArgumentException($"{spec.Label} is not a MobileUNet ({spec.Architecture}): it runs as an ONNX model only, not in torch.", nameof(spec));

    public MobileNetEncoder Encoder => encoder;
    public UNetDecoder Decoder => decoder;

    /// <summary>Mask logits [N,1,S,S].</summary>
    public override Tensor forward(Tensor images)
    {
        using var features = encoder.forward(images);
        return decoder.forward(features);
    }

    /// <summary>Foreground probabilities [N,1,S,S], in eval mode and without autograd.</summary>
    public Tensor Predict(Tensor images)
    {
        using var _ = no_grad();
        using var logits = forward(images);
        return logits.sigmoid();
    }

    /// <summary>Runs a forward pass that reports every layer to <paramref name="observe"/>; returns the logits.</summary>
    public Tensor Trace(Tensor images, LayerObserver observe)
    {
        using var features = encoder.Forward(images, observe);
        return decoder.Forward(features, observe);
    }

    /// <summary>Trainable parameters (weights, biases, BN scale and shift; not BN running statistics).</summary>
    public long TrainableParameterCount() => parameters().Where(p => p.requires_grad).Sum(p => p.numel());

    protected override void Dispose(bool disposing)
    {
        if (disposing) { encoder.Dispose(); decoder.Dispose(); }
        base.Dispose(disposing);
    }
}
