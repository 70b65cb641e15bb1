using TorchSharp;

namespace MobileUNet.Model;

/// <summary>
/// Scalar operands held for the life of the process. A TorchSharp <see cref="Scalar"/> made by implicit conversion
/// (a literal, or the default <c>alpha</c> that <c>add</c> and the tensor <c>+</c>/<c>-</c> operators pass) is
/// referenced by nothing once its handle is read, so the finaliser thread can free it while libtorch is still reading
/// it: the training crash of this project ("Unknown scalar type" from <c>THSTensor_add_scalar_</c>, several per hour
/// on the real-photo runs). Code on the training path passes these instead (HeldScalarTests reproduces the crash).
/// </summary>
internal static class HeldScalars
{
    public static readonly Scalar One = 1, Two = 2;
}
